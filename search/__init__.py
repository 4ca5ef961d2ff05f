"""semsearch's search side: query in, hits out; and the CLI and HTTP edges over it.

Public names resolve lazily (PEP 562), as in ``index``: ``import search`` loads no model, FAISS or pydantic model
until a name is used.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # names for type checkers and editors; at run time __getattr__ resolves them
    from index import Filter
    from search.engine import SearchEngine, describe_index
    from search.evaluation import EvalReport, evaluate, load_judgements
    from search.filters import parse_filters
    from search.results import Hit, IndexInfo, QueryOptions, QueryRequest, QueryResult, Snippet, Span, Version

# public name -> the module that defines it
_WHERE = {
    "EvalReport": "search.evaluation",
    "Hit": "search.results",
    "IndexInfo": "search.results",
    "Filter": "index",
    "QueryOptions": "search.results",
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
    "Filter",
    "Hit",
    "IndexInfo",
    "QueryOptions",
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


def __getattr__(name: str) -> Any:
    """A public name, loaded from its module on first use (PEP 562), then kept."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(module), name)
    return value


def __dir__() -> list[str]:
    return sorted({*_WHERE, *(n for n in globals() if n.startswith("__"))})
