"""The query side of a model: the layers ``search`` puts over a query encoder (the query-vector cache,
micro-batching) and the one place they are composed (``compose``), called where an engine is made."""

from __future__ import annotations

from index import QueryEncoder


class QueryEncoderLayer:
    """A query encoder over another: the same model, backend and vectors; only how ``encode_queries`` runs
    differs. Subclasses override ``encode_queries``."""

    def __init__(self, inner: QueryEncoder) -> None:
        self.inner = inner
        self.name, self.source, self.fingerprint = inner.name, inner.source, inner.fingerprint
        self.backend, self.dimension, self.notices = inner.backend, inner.dimension, inner.notices


def compose(encoder: QueryEncoder, *, batching: bool = False) -> QueryEncoder:
    """``encoder`` under an LRU of query vectors (a query repeated — another page, mode or language filter — is
    encoded once) and, with ``batching`` (a server), micro-batching of concurrent callers beneath it."""
    from search.batching import QueryBatcher
    from search.query_cache import QueryVectorCache

    return QueryVectorCache(QueryBatcher(encoder) if batching else encoder)
