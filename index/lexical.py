"""The lexical index: BM25 over the same rows as the vectors (every passage and headline), by bm25s.

Why bm25s: it scores from a sparse term-by-document matrix with numpy/scipy only (no native binary to
install, memory-mappable on load), takes our own terms (``index.terms``, which handle every script the
way we want) and is maintained. tantivy would bring a second storage engine with its own tokenisers,
none of which normalises Arabic or splits Chinese, so we would pre-tokenise for it anyway.

Row i of the lexical index is row i of ``VectorRows`` (sorted vector ids), so a hit's position maps
to the same vector id, article and language as a dense hit. The index is rebuilt with every build:
term statistics (document frequencies) change whenever the corpus does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexMismatchError
from index.terms import terms

LEXICAL_DIR = "lexical"
# Lucene's defaults: term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75
_ROWS_FILE = "rows.json"


class LexicalIndex:
    """BM25 over an index's rows; ``search`` returns row positions and scores, best first."""

    def __init__(self, bm25: Any, rows: int) -> None:
        self._bm25 = bm25
        self.rows = rows
        self._vocab: dict[str, int] = bm25.vocab_dict

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        """Index one text per row."""
        bm25s = _bm25s()
        bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
        # bm25s needs at least one term per document: an empty text gets the reserved empty term
        bm25.index([terms(t) or [""] for t in texts], show_progress=False)
        return cls(bm25, len(texts))

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (created)."""
        folder.mkdir(parents=True, exist_ok=False)
        self._bm25.save(str(folder), show_progress=False)
        (folder / _ROWS_FILE).write_text(json.dumps({"rows": self.rows}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> LexicalIndex:
        """Read an index written by ``save``."""
        bm25s = _bm25s()
        try:
            rows = int(json.loads((folder / _ROWS_FILE).read_text(encoding="utf-8"))["rows"])
            bm25 = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexMismatchError(
                f"The lexical index in {folder} is unreadable ({exc}); rebuild with `semsearch build`."
            ) from exc
        return cls(bm25, rows)

    def term_weights(self, query: str) -> dict[str, float]:
        """The query's distinct terms with their IDF (terms the corpus never saw weigh the most)."""
        n = float(self._bm25.scores["num_docs"])
        indptr = self._bm25.scores["indptr"]
        weights = {}
        for term in dict.fromkeys(terms(query)):
            t = self._vocab.get(term)
            weights[term] = _idf(0.0 if t is None else float(indptr[t + 1] - indptr[t]), n)
        return weights

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None, min_coverage: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best-scoring rows (positions) with their BM25 scores, best first.

        Only rows holding at least ``min_coverage`` of the query's term weight (IDF-weighted share of its
        distinct terms, unknown terms included) are returned. ``allowed`` is a boolean mask over rows.
        """
        weights = self.term_weights(query)
        found = [t for t in weights if t in self._vocab]
        if not found or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = np.asarray(self._bm25.get_scores(found), dtype=np.float32)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        keep = scores > 0
        if min_coverage > 0:
            keep &= self._coverage(weights) >= min_coverage
        candidates = np.flatnonzero(keep)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.lexsort((candidates, -scores[candidates]))]
        return scores[order], order.astype(np.int64)

    def _coverage(self, weights: dict[str, float]) -> np.ndarray:
        """Per row, the share of the query's term weight (``term_weights``) held by the terms it contains."""
        indptr, indices = self._bm25.scores["indptr"], self._bm25.scores["indices"]
        held = np.zeros(self.rows, dtype=np.float32)
        for term, weight in weights.items():
            t = self._vocab.get(term)
            if t is not None:
                held[np.asarray(indices[indptr[t] : indptr[t + 1]])] += weight
        total = sum(weights.values())
        return held / total if total > 0 else held


def _idf(df: float, n: float) -> float:
    """Lucene's BM25 inverse document frequency."""
    return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))


def _bm25s() -> Any:
    """The bm25s module, its logger quiet: it sets itself to DEBUG, so once anything has configured logging
    (a library's ``logging.warning``) every build printed ``DEBUG:bm25s:Building index from tokens``."""
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s
