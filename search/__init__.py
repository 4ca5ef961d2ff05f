"""semsearch's search side: query in, hits out; and the CLI and HTTP edges over it."""

from search.engine import SearchEngine, describe_index
from search.filters import QueryFilters, parse_filters
from search.results import Hit, IndexInfo, QueryRequest, QueryResult

__all__ = [
    "Hit",
    "IndexInfo",
    "QueryFilters",
    "QueryRequest",
    "QueryResult",
    "SearchEngine",
    "describe_index",
    "parse_filters",
]
