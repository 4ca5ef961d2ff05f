"""The vector index: passage vectors with stable int64 ids, searched by inner product (cosine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import IndexMismatchError, SemsearchError

KNOWN_SPECS = ("Flat",)
# Vector ids: passages are 0..N-1; an article's headline vector is HEADLINE_ID_BASE + its article number.
HEADLINE_ID_BASE = 1 << 40


class VectorIndex(Protocol):
    """What the rest of semsearch needs from a vector index; FAISS types implement it."""

    spec: str
    dimension: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given int64 ids."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best per query, best first; missing slots have id -1."""
        ...

    def save(self, path: Path) -> None:
        """Write the index to ``path``."""
        ...


class FaissIndex:
    """A FAISS index wrapped in an ``IndexIDMap2`` so passages keep their own ids."""

    def __init__(self, index: Any, spec: str) -> None:
        self._index = index
        self.spec = spec
        self.dimension = int(index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given int64 ids."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise IndexMismatchError(
                f"Vectors of shape {vectors.shape} do not fit an index of dimension {self.dimension}."
            )
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best per query, best first; missing slots have id -1."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.shape[1] != self.dimension:
            raise IndexMismatchError(
                f"Query vectors have dimension {queries.shape[1]} but the index has {self.dimension}; "
                "query with the model the index was built with."
            )
        scores, ids = self._index.search(queries, max(1, min(k, len(self) or 1)))
        return scores, ids

    def save(self, path: Path) -> None:
        """Write the index to ``path``."""
        import faiss

        faiss.write_index(self._index, str(path))


def create_vector_index(spec: str, dimension: int) -> FaissIndex:
    """A new empty index of the named kind (the seam where more index types plug in)."""
    import faiss

    if spec not in KNOWN_SPECS:
        raise SemsearchError(f"Unknown index spec {spec!r}; choose one of: {', '.join(KNOWN_SPECS)}.")
    return FaissIndex(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), spec)


def load_vector_index(path: Path, spec: str, dimension: int) -> FaissIndex:
    """Read an index written by ``save``; a damaged file or a dimension mismatch is refused."""
    import faiss

    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexMismatchError(f"The vector file {path} is damaged ({exc}); rebuild with `semsearch build`.") from exc
    if index.d != dimension:
        raise IndexMismatchError(
            f"The vector file {path} has dimension {index.d}, the manifest says {dimension}; rebuild the index."
        )
    return FaissIndex(index, spec)
