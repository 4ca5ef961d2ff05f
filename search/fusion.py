"""Article rankings from each retriever, and reciprocal rank fusion of them.

A retriever returns rows (passages and headlines); an article ranks by its best row. Hybrid search
fuses the dense and the lexical article rankings by reciprocal rank fusion (Cormack, Clarke and
Buettcher, 2009): an article at rank r of a ranking earns 1 / (k + r), summed over the rankings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.settings import RRF_K


@dataclass(frozen=True)
class Ranked:
    """An article in a ranking: its number, score, and the row that earned the score (its vector id, and its
    position in the index's rows, looked up once)."""

    article: int
    score: float
    row: int
    position: int


@dataclass(frozen=True)
class Candidate:
    """An article after fusion, with what each retriever said about it."""

    article: int
    score: float
    dense: Ranked | None
    lexical: Ranked | None


def best_per_article(
    scores: np.ndarray, ids: np.ndarray, positions: np.ndarray, articles: np.ndarray, depth: int
) -> list[Ranked]:
    """The first ``depth`` articles of rows already sorted best first, each with its best row."""
    _, first = np.unique(articles, return_index=True)
    first.sort()
    return [Ranked(int(articles[i]), float(scores[i]), int(ids[i]), int(positions[i])) for i in first[:depth]]


def single(ranking: list[Ranked], dense: bool) -> list[Candidate]:
    """One retriever's ranking as candidates (dense or lexical mode)."""
    return [Candidate(r.article, r.score, r if dense else None, None if dense else r) for r in ranking]


def reciprocal_rank_fusion(dense: list[Ranked], lexical: list[Ranked], k: int = RRF_K) -> list[Candidate]:
    """Candidates by summed 1/(k + rank); ties go to the better dense rank, then the article number."""
    by_article: dict[int, dict[str, Ranked]] = {}
    fused: dict[int, float] = {}
    for name, ranking in (("dense", dense), ("lexical", lexical)):
        for rank, item in enumerate(ranking, start=1):
            by_article.setdefault(item.article, {})[name] = item
            fused[item.article] = fused.get(item.article, 0.0) + 1.0 / (k + rank)
    dense_rank = {item.article: rank for rank, item in enumerate(dense)}
    order = sorted(fused, key=lambda a: (-fused[a], dense_rank.get(a, len(dense)), a))
    return [Candidate(a, fused[a], by_article[a].get("dense"), by_article[a].get("lexical")) for a in order]
