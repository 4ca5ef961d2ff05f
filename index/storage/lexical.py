"""The lexical index: BM25 over the same rows as the vectors (every passage and headline), by bm25s.

Why bm25s: it scores from a sparse term-by-document matrix with numpy/scipy only (no native binary to
install, memory-mappable on load), takes our own terms (``index.terms``, which handle every script the
way we want) and is maintained. tantivy would bring a second storage engine with its own tokenisers,
none of which normalises Arabic or splits Chinese, so we would pre-tokenise for it anyway.

Row i of the lexical index is row i of ``VectorRows`` (sorted vector ids), so a hit's position maps
to the same vector id, article and language as a dense hit. The index is rebuilt with every build:
term statistics (document frequencies) change whenever the corpus does.

Two fields over the same rows: ``terms`` (every word, as ``index.terms`` makes it) and ``names`` (the
non-Latin words romanised to consonant keys, ``index.transliteration``), which a query's Latin words are
matched against too, so "Putin" finds بوتين. A row's score is the sum of its fields' BM25 scores (the
names field weighted by NAME_FIELD_WEIGHT); a query term counts as held by a row when either field has it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexMismatchError
from ..settings import NAME_FIELD_WEIGHT
from ..terms import terms
from ..transliteration import document_keys, query_keys

LEXICAL_DIR = "lexical"
# Lucene's defaults: term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75
_ROWS_FILE = "rows.json"
# The names field lives in this sub-folder of the lexical folder; FIELDS is recorded in rows.json.
_NAMES_DIR = "names"
FIELDS = ("terms", "names")


@dataclass(frozen=True)
class LexicalMatch:
    """One query scored against every row, computed once per query: the query's terms with their IDF
    weights, its Latin terms' name keys, each row's BM25 score and each row's coverage of the query."""

    weights: dict[str, float]
    keys: dict[str, str]
    scores: np.ndarray
    coverage: np.ndarray


class LexicalIndex:
    """BM25 over an index's rows; ``search`` returns row positions and scores, best first."""

    def __init__(self, bm25: Any, names: Any, rows: int) -> None:
        self._bm25 = bm25
        self._names = names
        self.rows = rows
        self._vocab: dict[str, int] = bm25.vocab_dict
        self._name_vocab: dict[str, int] = names.vocab_dict

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        """Index one text per row (each text tokenised once, for both fields)."""
        bm25s = _bm25s()
        row_terms = [terms(t) for t in texts]
        fields = []
        # bm25s needs at least one term per document: an empty row gets the reserved empty term
        for documents in (row_terms, [document_keys(t) for t in row_terms]):
            bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
            bm25.index([d or [""] for d in documents], show_progress=False)
            fields.append(bm25)
        return cls(fields[0], fields[1], len(texts))

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (created)."""
        folder.mkdir(parents=True, exist_ok=False)
        self._bm25.save(str(folder), show_progress=False)
        self._names.save(str(folder / _NAMES_DIR), show_progress=False)
        (folder / _ROWS_FILE).write_text(json.dumps({"rows": self.rows, "fields": list(FIELDS)}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> LexicalIndex:
        """Read an index written by ``save``."""
        bm25s = _bm25s()
        try:
            meta = json.loads((folder / _ROWS_FILE).read_text(encoding="utf-8"))
            if tuple(meta.get("fields", ("terms",))) != FIELDS:
                raise IndexMismatchError(
                    f"The lexical index in {folder} has the fields {meta.get('fields', ['terms'])}, this semsearch "
                    f"reads {list(FIELDS)}; rebuild it with `semsearch build`."
                )
            rows = int(meta["rows"])
            bm25 = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
            names = bm25s.BM25.load(str(folder / _NAMES_DIR), mmap=mmap, show_progress=False)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexMismatchError(
                f"The lexical index in {folder} is unreadable ({exc}); rebuild it with `semsearch build`."
            ) from exc
        return cls(bm25, names, rows)

    def term_weights(self, query: str) -> dict[str, float]:
        """The query's distinct terms with their IDF (terms the corpus never saw weigh the most)."""
        n = float(self._bm25.scores["num_docs"])
        indptr = self._bm25.scores["indptr"]
        weights = {}
        for term in dict.fromkeys(terms(query)):
            t = self._vocab.get(term)
            weights[term] = _idf(0.0 if t is None else float(indptr[t + 1] - indptr[t]), n)
        return weights

    def match(self, query: str) -> LexicalMatch:
        """Score every row for ``query`` (both fields) and measure its coverage of the query's terms."""
        weights = self.term_weights(query)
        keys = {t: k for t, k in query_keys(list(weights)).items() if k in self._name_vocab}
        scores = np.zeros(self.rows, dtype=np.float32)
        found = [t for t in weights if t in self._vocab]
        if found:
            scores += np.asarray(self._bm25.get_scores(found), dtype=np.float32)
        if keys:
            named = np.asarray(self._names.get_scores(list(dict.fromkeys(keys.values()))), dtype=np.float32)
            scores += NAME_FIELD_WEIGHT * named
        return LexicalMatch(weights, keys, scores, self._coverage(weights, keys))

    def search(
        self, query: str | LexicalMatch, k: int, allowed: np.ndarray | None = None, min_coverage: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best-scoring rows (positions) with their BM25 scores, best first.

        Only rows holding at least ``min_coverage`` of the query's term weight (IDF-weighted share of its
        distinct terms, unknown terms included) are returned. ``allowed`` is a boolean mask over rows.
        """
        found = self.match(query) if isinstance(query, str) else query
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = found.scores if allowed is None else np.where(allowed, found.scores, 0.0)
        keep = scores > 0
        if min_coverage > 0:
            keep &= found.coverage >= min_coverage
        candidates = np.flatnonzero(keep)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.lexsort((candidates, -scores[candidates]))]
        return scores[order].astype(np.float32), order.astype(np.int64)

    def _coverage(self, weights: dict[str, float], keys: dict[str, str]) -> np.ndarray:
        """Per row, the share of the query's term weight (``term_weights``) held by the terms it contains,
        in either field (a Latin term is held by a row that has its name key)."""
        held = np.zeros(self.rows, dtype=np.float32)
        for term, weight in weights.items():
            rows = _postings(self._bm25, self._vocab.get(term))
            if term in keys:
                rows = np.union1d(rows, _postings(self._names, self._name_vocab[keys[term]]))
            held[rows] += weight
        total = sum(weights.values())
        return held / total if total > 0 else held


def _postings(bm25: Any, term: int | None) -> np.ndarray:
    """The rows holding a term (by its id in ``bm25``'s vocabulary; none for None)."""
    if term is None:
        return np.zeros(0, np.int64)
    indptr, indices = bm25.scores["indptr"], bm25.scores["indices"]
    return np.asarray(indices[indptr[term] : indptr[term + 1]], dtype=np.int64)


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
