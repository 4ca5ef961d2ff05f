"""Retrieval: one query's articles ranked by the mode, from the dense and the lexical retriever, each with the
confidence that it is relevant.

Each retriever ranks rows (passages and headlines) and an article by its best row; each widens its fetch
until enough distinct articles are found, so the top articles are exact. The query's lexical match (its
terms and their weights, each row's score and coverage) is computed once here and carried to the snippets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index import Filter, LexicalMatch, LoadedIndex, VectorBackend
from index.settings import FUSION_DEPTH, LEXICAL_MIN_COVERAGE, NO_GOOD_MATCH_CONFIDENCE, PASSAGES_PER_ARTICLE_FETCH
from search.confidence import ConfidenceModel, Features, ranked_features
from search.fusion import Candidate, Ranked, best_per_article, reciprocal_rank_fusion, single
from search.results import Mode


@dataclass(frozen=True)
class Fetched:
    """Rows a retriever fetched, best first: their scores, row positions and vector ids."""

    scores: np.ndarray
    positions: np.ndarray
    ids: np.ndarray


# A fetch of rows: the ``n`` best.
Fetch = Callable[[int], Fetched]


@dataclass(frozen=True)
class Allowed:
    """The rows a filtered query may return, as vector ids (for FAISS) and as a mask over rows (for BM25),
    with the filter itself (for a store that evaluates it, Milvus)."""

    ids: np.ndarray
    rows: np.ndarray
    where: Filter


@dataclass(frozen=True)
class Ranking:
    """One query's candidates in the mode's order, their confidence features and confidences, and its
    lexical match (term weights for the snippets)."""

    query: str
    candidates: list[Candidate]
    features: list[Features]
    confidences: list[float]
    match: LexicalMatch

    def no_good_match(self, depth: int) -> str | None:
        """The note for a query whose first ``depth`` articles all fall under NO_GOOD_MATCH_CONFIDENCE."""
        best = max(self.confidences[:depth], default=None)
        if best is None or best >= NO_GOOD_MATCH_CONFIDENCE:
            return None
        return (
            f"No good match for {self.query!r}: no result is likely to be relevant (best confidence {best:.2f}); "
            "the index may not cover this topic, or try other words."
        )


def allowed_rows(index: LoadedIndex, article_numbers: list[int], where: Filter) -> Allowed:
    """Every row (passages and headline) of the given articles."""
    mask = np.isin(index.rows.articles, np.asarray(article_numbers, dtype=np.int64))
    return Allowed(index.rows.ids[mask], mask, where)


def rank(
    index: LoadedIndex,
    vectors: VectorBackend,
    confidence: ConfidenceModel,
    query: str,
    vector: np.ndarray | None,
    mode: Mode,
    depth: int,
    allowed: Allowed | None = None,
) -> Ranking:
    """Articles ranked by the mode (at most ``depth`` from each retriever), each with its confidence."""
    match = index.lexical.match(query)  # the query's terms and weights: computed once, here
    dense = dense_articles(index, vectors, vector, depth, allowed) if vector is not None else []
    if mode == "dense":
        candidates = single(dense, dense=True)
    else:
        lexical = lexical_articles(index, match, depth, allowed)
        candidates = single(lexical, dense=False) if mode == "lexical" else reciprocal_rank_fusion(dense, lexical)
    features = _features(index, candidates, dense, match)
    confidences = [confidence.confidence(f, mode) for f in features]
    return Ranking(query, candidates, features, confidences, match)


def dense_articles(
    index: LoadedIndex, vectors: VectorBackend, vector: np.ndarray, depth: int, allowed: Allowed | None
) -> list[Ranked]:
    """The ``depth`` best articles by their best vector. ``allowed`` limits it: FAISS takes the vector ids,
    Milvus the filter."""
    rows = index.rows
    total = len(rows) if allowed is None else len(allowed.ids)

    def fetch(n: int) -> Fetched:
        ids, where = (None, None) if allowed is None else (allowed.ids, allowed.where)
        scores, found = vectors.search(vector[None, :], n, ids, where)
        keep = found[0] >= 0
        return Fetched(scores[0][keep], rows.positions(found[0][keep]), found[0][keep])

    return _widened(index, fetch, depth, total)


def lexical_articles(index: LoadedIndex, match: LexicalMatch, depth: int, allowed: Allowed | None) -> list[Ranked]:
    """The ``depth`` best articles by BM25 of their best row (allowed rows only, when given)."""
    mask = None if allowed is None else allowed.rows

    def fetch(n: int) -> Fetched:
        scores, positions = index.lexical.search(match, n, mask, LEXICAL_MIN_COVERAGE)
        return Fetched(scores, positions, index.rows.ids[positions])

    return _widened(index, fetch, depth, None)


def _widened(index: LoadedIndex, fetch: Fetch, depth: int, total: int | None) -> list[Ranked]:
    """Fetch rows, four times more each round, until ``depth`` distinct articles are among them (or every row
    that can be is): the top articles by their best row, exact. ``total``: rows there are to fetch (None:
    the fetch says it ran out by returning fewer than asked)."""
    n = depth * PASSAGES_PER_ARTICLE_FETCH if total is None else min(total, depth * PASSAGES_PER_ARTICLE_FETCH)
    if n == 0:
        return []
    while True:
        rows = fetch(n)
        numbers = index.rows.articles[rows.positions]
        exhausted = len(rows.positions) < n if total is None else n >= total
        if _distinct(numbers) >= depth or exhausted:
            return best_per_article(rows.scores, rows.ids, rows.positions, numbers, depth)
        n = n * 4 if total is None else min(total, n * 4)


def _distinct(numbers: np.ndarray) -> int:
    """How many distinct values ``numbers`` holds (not ``len(np.unique(…))``: that imports numpy.ma, 15 ms)."""
    ordered = np.sort(numbers)
    return int(len(ordered) > 0) + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def _features(
    index: LoadedIndex, candidates: list[Candidate], dense: list[Ranked], match: LexicalMatch
) -> list[Features]:
    """Each candidate's confidence features: its best cosine, and the best coverage among its rows."""
    held = match.coverage
    rows = np.flatnonzero(held > 0)
    order = rows[np.argsort(-held[rows], kind="stable")]
    numbers, first = np.unique(index.rows.articles[order], return_index=True)
    best = dict(zip(numbers.tolist(), held[order][first].tolist()))
    return ranked_features(
        [None if c.dense is None else c.dense.score for c in candidates],
        [best.get(c.article, 0.0) for c in candidates],
        [r.score for r in dense],
        FUSION_DEPTH,
    )
