"""Reciprocal rank fusion and per-article rankings."""

from __future__ import annotations

import numpy as np
import pytest

from search.fusion import Ranked, best_per_article, reciprocal_rank_fusion


def test_best_per_article_keeps_each_articles_first_row() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    ids = np.array([10, 11, 12, 13])
    articles = np.array([2, 2, 5, 1])
    positions = np.array([0, 1, 2, 3])
    ranked = best_per_article(scores, ids, positions, articles, depth=2)
    assert [(r.article, r.row, r.position) for r in ranked] == [(2, 10, 0), (5, 12, 2)]


def test_rrf_sums_reciprocal_ranks() -> None:
    dense = [Ranked(1, 0.9, 1, 1), Ranked(2, 0.8, 2, 2), Ranked(3, 0.7, 3, 3)]
    lexical = [Ranked(3, 12.0, 3, 3), Ranked(4, 5.0, 4, 4)]
    fused = reciprocal_rank_fusion(dense, lexical, k=60)
    assert [c.article for c in fused] == [3, 1, 2, 4]  # 2 and 4 tie at 1/62: the dense one first
    by = {c.article: c for c in fused}
    assert by[3].score == pytest.approx(1 / 63 + 1 / 61)
    assert by[1].score == pytest.approx(1 / 61) and by[1].lexical is None
    assert by[4].dense is None and by[4].lexical == lexical[1]


def test_rrf_without_lexical_hits_keeps_the_dense_order() -> None:
    dense = [Ranked(a, 1 - a / 10, a, a) for a in (5, 3, 9, 1)]
    assert [c.article for c in reciprocal_rank_fusion(dense, [])] == [5, 3, 9, 1]
