"""semsearch's search side: query in, hits out; and the CLI and HTTP edges over it.

Public names resolve lazily (PEP 562), as in ``index``: ``import search`` loads no model, FAISS or pydantic model
until a name is used.
"""

from typing import TYPE_CHECKING

from index._lazy import lazy_names

if TYPE_CHECKING:  # names for type checkers and editors; at run time __getattr__ resolves them
    from search.engine import SearchEngine, describe_index
    from search.evaluation import EvalReport, evaluate, load_judgements
    from search.filters import QueryFilters, parse_filters
    from search.results import Hit, IndexInfo, QueryRequest, QueryResult, Snippet, Span, Version

# public name -> the module that defines it
_WHERE = {
    "EvalReport": "search.evaluation",
    "Hit": "search.results",
    "IndexInfo": "search.results",
    "QueryFilters": "search.filters",
    "QueryRequest": "search.results",
    "QueryResult": "search.results",
    "SearchEngine": "search.engine",
    "Snippet": "search.results",
    "Span": "search.results",
    "Version": "search.results",
    "describe_index": "search.engine",
    "evaluate": "search.evaluation",
    "load_judgements": "search.evaluation",
    "parse_filters": "search.filters",
}

__all__ = [
    "EvalReport",
    "Hit",
    "IndexInfo",
    "QueryFilters",
    "QueryRequest",
    "QueryResult",
    "SearchEngine",
    "Snippet",
    "Span",
    "Version",
    "describe_index",
    "evaluate",
    "load_judgements",
    "parse_filters",
]


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
