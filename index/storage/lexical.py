"""The lexical index: BM25 over the same rows as the vectors (every passage and headline), built by bm25s
and scored with numpy.

Why bm25s: it builds a sparse term-by-document matrix of precomputed BM25 scores with numpy/scipy only (no
native binary to install, memory-mappable on load), takes our own terms (``index.terms``, which handle every
script the way we want) and is maintained. A query reads that matrix (saved by bm25s as CSC arrays) with
numpy alone, summing the query terms' columns in bm25s's own order and dtype, so the scores are bm25s's to the
bit and neither bm25s nor scipy (~0.3 s to import) is on a query's path. tantivy would bring a second storage engine with its own tokenisers,
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexMismatchError
from ..settings import NAME_FIELD_WEIGHT
from ..terms import terms
from ..transliteration import document_keys, query_keys
from .arrays import load_npy

# Lucene's defaults: term-frequency saturation and length normalisation.
BM25_K1 = 1.2
BM25_B = 0.75
_ROWS_FILE = "rows.json"
# The names field lives in this sub-folder of the lexical folder; FIELDS is recorded in rows.json.
_NAMES_DIR = "names"
FIELDS = ("terms", "names")
# The files bm25s saves one field into (``BM25.save``'s defaults), read here without it.
_PARAMS_FILE = "params.index.json"
_VOCAB_FILE = "vocab.index.json"
_CSC_FILES = ("data", "indices", "indptr")


@dataclass(frozen=True)
class _Field:
    """One BM25 field as bm25s keeps it: per term (a column), the rows holding it and their precomputed BM25
    scores, rows ``indices[indptr[t]:indptr[t + 1]]`` with scores ``data[...]`` for term id ``t``."""

    vocab: dict[str, int]
    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    rows: int

    @classmethod
    def of(cls, bm25: Any) -> _Field:
        """The field a bm25s index just built holds."""
        scores = bm25.scores
        return cls(bm25.vocab_dict, scores["data"], scores["indices"], scores["indptr"], int(scores["num_docs"]))

    @classmethod
    def load(cls, folder: Path, mmap: bool) -> _Field:
        """Read the field bm25s saved into ``folder`` (arrays memory-mapped with ``mmap``)."""
        params = json.loads((folder / _PARAMS_FILE).read_text(encoding="utf-8"))
        vocab = json.loads((folder / _VOCAB_FILE).read_text(encoding="utf-8"))
        data, indices, indptr = (load_npy(folder / f"{n}.csc.index.npy", ndim=1, mmap=mmap) for n in _CSC_FILES)
        if params.get("method") != "lucene" or np.dtype(params.get("dtype")) != data.dtype:
            raise ValueError(
                f"{folder / _PARAMS_FILE} describes {params.get('method')} scores in {params.get('dtype')}"
            )
        # bm25s keeps a reserved empty term in the vocabulary with no column of its own: one pointer fewer
        if len(indices) != len(data) or not len(vocab) <= len(indptr) <= len(vocab) + 1 or indptr[-1] != len(data):
            raise ValueError(f"the arrays in {folder} disagree with its {len(vocab)} terms")
        return cls(vocab, data, indices, indptr, int(params["num_docs"]))

    def scores(self, found: Iterable[str]) -> np.ndarray:
        """Each row's BM25 score for the terms ``found`` (distinct, all in the vocabulary): bm25s's
        ``get_scores``, the same float32 sums in the same order."""
        out = np.zeros(self.rows, dtype=self.data.dtype)
        for term in found:
            start, end = self._column(term)
            out[self.indices[start:end]] += self.data[start:end]  # a term's rows are distinct: no repeats to add
        return out

    def postings(self, term: str | None) -> np.ndarray:
        """The rows holding ``term`` (none for a term it never saw, or None)."""
        start, end = self._column(term)
        return np.asarray(self.indices[start:end], dtype=np.int64)

    def frequency(self, term: str) -> int:
        """How many rows hold ``term``."""
        start, end = self._column(term)
        return end - start

    def _column(self, term: str | None) -> tuple[int, int]:
        """Where ``term``'s rows and scores lie in ``indices`` and ``data`` (an empty range when it has none)."""
        t = None if term is None else self.vocab.get(term)
        if t is None or t + 1 >= len(self.indptr):
            return 0, 0
        return int(self.indptr[t]), int(self.indptr[t + 1])


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

    def __init__(
        self, terms_field: _Field, names_field: _Field, rows: int, built: tuple[Any, Any] | None = None
    ) -> None:
        self._terms = terms_field
        self._names = names_field
        self.rows = rows
        self._built = built  # the bm25s indexes a build made, which ``save`` writes

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
        return cls(_Field.of(fields[0]), _Field.of(fields[1]), len(texts), (fields[0], fields[1]))

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (created)."""
        if self._built is None:
            raise ValueError("only a lexical index just built is saved; a loaded one is already on disk")
        bm25, names = self._built
        folder.mkdir(parents=True, exist_ok=False)
        bm25.save(str(folder), show_progress=False)
        names.save(str(folder / _NAMES_DIR), show_progress=False)
        (folder / _ROWS_FILE).write_text(json.dumps({"rows": self.rows, "fields": list(FIELDS)}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> LexicalIndex:
        """Read an index written by ``save`` (with numpy alone: no bm25s, no scipy)."""
        try:
            meta = json.loads((folder / _ROWS_FILE).read_text(encoding="utf-8"))
            if tuple(meta.get("fields", ("terms",))) != FIELDS:
                raise IndexMismatchError(
                    f"The lexical index in {folder} has the fields {meta.get('fields', ['terms'])}, this semsearch "
                    f"reads {list(FIELDS)}; rebuild it with `semsearch build`."
                )
            rows = int(meta["rows"])
            terms_field = _Field.load(folder, mmap)
            names_field = _Field.load(folder / _NAMES_DIR, mmap)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexMismatchError(
                f"The lexical index in {folder} is unreadable ({exc}); rebuild it with `semsearch build`."
            ) from exc
        if terms_field.rows != rows or names_field.rows != rows:
            raise IndexMismatchError(
                f"The lexical index in {folder} scores {terms_field.rows} and {names_field.rows} rows for {rows}; "
                "rebuild it with `semsearch build`."
            )
        return cls(terms_field, names_field, rows)

    def term_weights(self, query: str) -> dict[str, float]:
        """The query's distinct terms with their IDF (terms the corpus never saw weigh the most)."""
        n = float(self._terms.rows)
        return {term: _idf(float(self._terms.frequency(term)), n) for term in dict.fromkeys(terms(query))}

    def match(self, query: str) -> LexicalMatch:
        """Score every row for ``query`` (both fields) and measure its coverage of the query's terms."""
        weights = self.term_weights(query)
        keys = {t: k for t, k in query_keys(list(weights)).items() if k in self._names.vocab}
        scores = self._terms.scores(t for t in weights if t in self._terms.vocab)
        if keys:
            scores += NAME_FIELD_WEIGHT * self._names.scores(dict.fromkeys(keys.values()))
        return LexicalMatch(weights, keys, scores.astype(np.float32, copy=False), self._coverage(weights, keys))

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
            rows = self._terms.postings(term)
            if term in keys:  # the rows holding either, each once (a mask: np.union1d imports numpy.ma, 15 ms)
                either = np.zeros(self.rows, dtype=bool)
                either[rows] = True
                either[self._names.postings(keys[term])] = True
                rows = np.flatnonzero(either)
            held[rows] += weight
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
