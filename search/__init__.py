"""semsearch's search side: query in, hits out; and the CLI and HTTP edges over it."""

from search.engine import SearchEngine, describe_index
from search.results import Hit, IndexInfo, QueryRequest, QueryResult

__all__ = ["Hit", "IndexInfo", "QueryRequest", "QueryResult", "SearchEngine", "describe_index"]
