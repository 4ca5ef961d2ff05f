"""A deterministic embedder for plumbing tests (storage, chunking, serving, errors) that need no model.

Shipped with the library, as httpx ships ``MockTransport``: a bag of hashed words, L2-normalised. It is not a
model and the product never uses it; an index it builds records the backend ``hash``, which no process can load.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

# A token: one CJK character, a run of word characters, or one other visible character.
_TOKEN = re.compile(r"[\u3000-\u9fff]|\w+|[^\w\s]", re.UNICODE)


class HashEmbedder:
    """Plumbing-only embedder: a bag of hashed words, L2-normalised; counts the texts it encodes (``encoded``)."""

    name = "test/hash-embedder"
    source = "index/embedding/testing.py"
    fingerprint = "hash-v1"
    backend = "hash"
    max_tokens = 512
    prompt_tokens = 1

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.encoded = 0
        self.notices: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for token in _TOKEN.findall(text.lower()):
            h = int.from_bytes(hashlib.md5(token.encode()).digest()[:4], "little")
            v[h % self.dimension] += 1.0 if h & 1 << 31 else -1.0
        v[0] += 0.01  # never the zero vector
        return v / np.linalg.norm(v)

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """One hashed vector per text."""
        self.encoded += len(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def encode_passages_pooled(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and each span's own vector: one "forward pass" per passage, as the real backends."""
        vectors = self.encode_passages(texts, batch_size)
        pooled = [
            np.array([self._vector(t[s:e]) for s, e in sp]).reshape(-1, self.dimension) for t, sp in zip(texts, spans)
        ]
        return vectors, pooled

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries are hashed as passages are."""
        return self.encode_passages(texts, 32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, as this embedder splits them."""
        return [len(_TOKEN.findall(t)) for t in texts]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of each token."""
        return [m.span() for m in _TOKEN.finditer(text)]
