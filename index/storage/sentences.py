"""Sentence vectors: one per sentence of every passage, pooled from the passage's own encoding.

A passage is encoded once; the model's token vectors of each sentence are averaged (the model pools
the whole passage the same way) and stored, so a snippet is chosen at query time by comparing the
query vector with these — no model call, and each sentence read in the context of its passage (the
"late chunking" idea: Günther et al., 2024). Stored as float16 with one offset per vector row (two arrays,
named by ``storage.layout``); headline rows have none. The sentences are those a passage carries
(``Passage.sentences``, split once by the build and kept in the store), so snippets show the very sentences
these vectors were pooled from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..chunking import passage_sentences
from .arrays import damaged, load_npy


def in_embedded_text(text: str, body: str, sentences: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``sentences`` (spans of ``body``) as spans of ``text``, the embedded "title\\nbody" that ends with ``body``."""
    offset = len(text) - len(body)
    return [(offset + s, offset + e) for s, e in sentences]


def body_sentence_spans(text: str, body: str) -> list[tuple[int, int]]:
    """Spans (in ``text``, the embedded "title\\nbody") of the sentences of ``body``, its tail."""
    return in_embedded_text(text, body, passage_sentences(body))


@dataclass
class SentenceVectors:
    """Per vector row (in ``VectorRows`` order), the vectors of its sentences."""

    offsets: np.ndarray  # (rows + 1,) int64: row i's sentences are vectors[offsets[i]:offsets[i + 1]]
    vectors: np.ndarray  # (sentences, dim) float16

    @classmethod
    def from_rows(cls, per_row: Sequence[np.ndarray], dim: int) -> SentenceVectors:
        """From one (sentences, dim) array per row (empty for headlines)."""
        counts = np.array([len(v) for v in per_row], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        parts = [np.asarray(v, dtype=np.float16) for v in per_row if len(v)]
        vectors = np.vstack(parts) if parts else np.zeros((0, dim), np.float16)
        return cls(offsets, vectors)

    def of(self, position: int) -> np.ndarray:
        """The sentence vectors of the row at ``position`` (float32)."""
        return np.asarray(self.vectors[self.offsets[position] : self.offsets[position + 1]], dtype=np.float32)

    def save(self, offsets: Path, vectors: Path) -> None:
        """Write both arrays."""
        np.save(offsets, self.offsets)
        np.save(vectors, np.ascontiguousarray(self.vectors, dtype=np.float16))

    @classmethod
    def load(cls, offsets_path: Path, vectors_path: Path) -> SentenceVectors:
        """Read them back (vectors memory-mapped)."""
        offsets = load_npy(offsets_path, dtype="int64", ndim=1)
        vectors = load_npy(vectors_path, dtype="float16", ndim=2, mmap=True)
        if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(vectors) or (np.diff(offsets) < 0).any():
            raise damaged(offsets_path, f"offsets that do not cover the {len(vectors)} sentence vectors")
        return cls(offsets, vectors)
