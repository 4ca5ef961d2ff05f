"""Stories: articles that are translations or close retellings of one another, found at build time.

Two articles tell the same story when their passages align: each passage of one has a close match
among the passages of the other (mean best-match cosine, both ways). Translations align passage by
passage; two outlets' reports of one event share a topic but not their sentences, so they align less.

Alone, one threshold cannot separate them: a translation pair scores lower than two same-language
reports of the same event (the language bonus of the model). So a story holds **at most one article
per language**, and stories are grown greedily from the best-aligned pair down: an article joins the
story whose version in its language is not taken yet. Same-language articles share a story only as
near-duplicates (syndicated copies), at a much higher alignment.

Calibration (see benchmarks/README.md): on the demo corpus's parallel groups the alignment threshold
gives precision and recall 1.0 from 0.70 to 0.76, and on NTREX-128 (14 languages, held out) from 0.66
to 0.76; ALIGN_THRESHOLD sits at the top of that range, where the fewest unrelated pairs pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models import HEADLINE_ID_BASE, Article
from ..storage.rows import VectorRows
from ..vectors.centring import centre, language_means

# Mean best-match passage cosine (on vectors with STORY_CENTRING of the language mean removed)
# above which two articles in different languages may be versions of one story.
ALIGN_THRESHOLD = 0.76
# Same-language articles join one story only above this: near-duplicates, not two reports of an event.
NEAR_DUPLICATE_THRESHOLD = 0.95
# Candidate partners per article, by article-vector similarity, before passages are aligned.
CANDIDATES = 32
# Share of each language's mean removed before aligning, whatever the index's own centring.
STORY_CENTRING = 0.25


def find_stories(
    raw: np.ndarray,
    articles: np.ndarray,
    langs: Sequence[str],
    article_langs: dict[int, str],
    threshold: float = ALIGN_THRESHOLD,
) -> dict[int, int]:
    """Story number (the smallest article number in it) of every article with at least one other version.

    ``raw``: the model's passage vectors; ``articles``: article number per vector; ``langs``: language per
    vector; ``article_langs``: language per article number. Articles telling a story alone are left out.
    """
    if len(raw) == 0:
        return {}
    vectors = centre(np.asarray(raw, dtype=np.float32), list(langs), language_means(raw, langs), STORY_CENTRING)
    order = np.argsort(articles, kind="stable")
    numbers, starts = np.unique(articles[order], return_index=True)
    groups = np.split(order, starts[1:])
    passages = {int(n): vectors[g] for n, g in zip(numbers, groups)}
    edges = _aligned_pairs(passages, article_langs, threshold)
    return _grow(edges, article_langs)


def alignment(a: np.ndarray, b: np.ndarray) -> float:
    """Mean best-match cosine between two articles' passage vectors, averaged over both directions."""
    sims = a @ b.T
    return float(0.5 * (sims.max(axis=1).mean() + sims.max(axis=0).mean()))


def _aligned_pairs(
    passages: dict[int, np.ndarray], article_langs: dict[int, str], threshold: float
) -> list[tuple[float, int, int]]:
    """Candidate pairs (by article vectors) whose passages align above the thresholds, best first."""
    import faiss

    numbers = np.array(sorted(passages), dtype=np.int64)
    means = np.stack([passages[int(n)].mean(axis=0) for n in numbers]).astype(np.float32)
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    index = faiss.IndexFlatIP(means.shape[1])
    index.add(means)
    _, neighbours = index.search(means, min(len(numbers), CANDIDATES + 1))
    edges = []
    for i, row in enumerate(neighbours):
        a = int(numbers[i])
        for j in row:
            if j <= i:  # each pair once (and never an article with itself)
                continue
            b = int(numbers[j])
            same_language = article_langs.get(a) == article_langs.get(b)
            score = alignment(passages[a], passages[b])
            if score >= (NEAR_DUPLICATE_THRESHOLD if same_language else threshold):
                edges.append((score, a, b))
    edges.sort(key=lambda e: (-e[0], e[1], e[2]))
    return edges


def _grow(edges: list[tuple[float, int, int]], article_langs: dict[int, str]) -> dict[int, int]:
    """Merge stories along edges, best first, never giving a story two articles in one language
    (unless the edge is a same-language near-duplicate)."""
    parent: dict[int, int] = {}
    languages: dict[int, set[str]] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for _score, a, b in edges:
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        la = languages.setdefault(ra, {article_langs.get(a, "?")})
        lb = languages.setdefault(rb, {article_langs.get(b, "?")})
        near_duplicate = article_langs.get(a) == article_langs.get(b)
        if la & lb and not near_duplicate:
            continue
        keep, drop = min(ra, rb), max(ra, rb)
        parent[drop] = keep
        languages[keep] = la | lb
    story = {x: root(x) for x in list(parent)}
    sizes: dict[int, int] = {}
    for r in story.values():
        sizes[r] = sizes.get(r, 0) + 1
    return {x: r for x, r in story.items() if sizes[r] > 1}  # an article whose every edge was refused is alone


def stories_of(rows: VectorRows, articles: list[Article], numbers: dict[str, int]) -> dict[int, int]:
    """Story number per article number, for the articles that have other versions (from passage vectors)."""
    body = rows.ids < HEADLINE_ID_BASE
    langs = {numbers[a.id]: a.lang or "?" for a in articles}
    return find_stories(np.asarray(rows.raw[body]), rows.articles[body], list(rows.langs[body]), langs)
