"""semsearch's search side: query in, hits out; and the CLI and HTTP edges over it."""

from search.engine import SearchEngine, describe_index
from search.evaluation import EvalReport, evaluate, load_judgements
from search.filters import QueryFilters, parse_filters
from search.results import Hit, IndexInfo, QueryRequest, QueryResult, Snippet, Span, Version

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
