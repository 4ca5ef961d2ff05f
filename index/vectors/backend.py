"""What the engine needs of a vector store: a nearest-neighbour search that can be limited to some articles.

Two implementations: the index's own FAISS file (``FaissIndex``) and a Milvus collection
(``index.vectors.milvus_store.MilvusVectors``). A search is limited either by the allowed vector ids (FAISS
takes those) or by the query's ``Filter`` (``index.models``) on the articles' fields (Milvus evaluates it on its own scalar fields,
so a filter never ships id lists to the server); the engine passes both, each backend uses its own.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..models import Filter
from .spec import IndexSpec


class VectorBackend(Protocol):
    """A searchable set of centred passage and headline vectors under their int64 vector ids."""

    spec: IndexSpec
    dimension: int

    def __len__(self) -> int: ...

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, where: Filter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best per query, best first; missing slots have id -1 and score -inf."""
        ...
