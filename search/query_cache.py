"""An LRU of query vectors, kept by every search engine: a repeated query (the same words from another
reader, the next page of results, the same query in another mode or under another language filter, as
an evaluation runs it) costs no model call."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from index import QueryEncoder
from index.settings import QUERY_CACHE_ENTRIES
from search.encoding import QueryEncoderLayer


class QueryVectorCache(QueryEncoderLayer):
    """A query encoder whose ``encode_queries`` remembers the last ``entries`` query vectors. Misses of one
    call go to the inner encoder together, in one call."""

    def __init__(self, inner: QueryEncoder, entries: int = QUERY_CACHE_ENTRIES) -> None:
        super().__init__(inner)
        self._entries = entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, from the cache where there, else encoded and kept."""
        out: list[np.ndarray | None] = []
        with self._lock:
            for text in texts:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                out.append(vector)
        missing = list(dict.fromkeys(t for t, v in zip(texts, out) if v is None))
        fresh = dict(zip(missing, self.inner.encode_queries(missing))) if missing else {}
        with self._lock:
            self.hits += len(texts) - sum(v is None for v in out)
            self.misses += len(missing)
            for text, vector in fresh.items():
                self._vectors[text] = vector
                self._vectors.move_to_end(text)
            while len(self._vectors) > self._entries:
                self._vectors.popitem(last=False)
        rows = [v if v is not None else fresh[t] for t, v in zip(texts, out)]
        dim = int(self.dimension)
        return np.stack(rows).astype(np.float32, copy=False) if rows else np.zeros((0, dim), np.float32)
