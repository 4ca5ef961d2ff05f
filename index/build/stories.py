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

Scale: candidates are each article's nearest articles by mean passage vector, from an exact scan below
APPROXIMATE_FROM articles and from an HNSW graph above it (an exact scan is O(N²)); a pair is a candidate
when either article is among the other's. Each article's candidates are aligned in one matrix product.
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
# From this many articles on (1–2M passages), candidates come from an HNSW graph over article vectors instead of
# an exact scan (n² · d). Below it the scan is both exact and cheaper, measured on two cores: 27 s at 33k
# articles and 104 s at 100k, against 46 s and 242 s for the graph at efSearch 512 (bench_updates.py).
APPROXIMATE_FROM = 250_000
# The HNSW graph's links per node and search breadth. On real vectors (the demo corpus, NTREX) its stories equal
# the exact scan's; on planted stories over near-isotropic synthetic vectors it loses an article's closest version
# for ~10 % of articles at 33k articles (recall of the top 2 in its 33: 0.90), and the stories then agree at
# recall 0.36 only: the reason the exact scan is kept up to APPROXIMATE_FROM. At 3.3k articles: 1.0.
HNSW_LINKS = 32
HNSW_EF_SEARCH = 512
HNSW_EF_CONSTRUCTION = 64


def find_stories(
    raw: np.ndarray,
    articles: np.ndarray,
    langs: Sequence[str],
    article_langs: dict[int, str],
    threshold: float = ALIGN_THRESHOLD,
    *,
    exact: bool | None = None,
) -> dict[int, int]:
    """Story number (the smallest article number in it) of every article with at least one other version.

    ``raw``: the model's passage vectors; ``articles``: article number per vector; ``langs``: language per
    vector; ``article_langs``: language per article number. Articles telling a story alone are left out.
    ``exact``: candidates from an exact scan (True) or an HNSW graph (False); by default, by size
    (APPROXIMATE_FROM).
    """
    if len(raw) == 0:
        return {}
    raw = np.asarray(raw, dtype=np.float32)
    means = language_means(raw, langs)
    order = np.argsort(articles, kind="stable")
    numbers, starts, lengths = np.unique(np.asarray(articles)[order], return_index=True, return_counts=True)
    passages = _Passages(centre(raw[order], [langs[i] for i in order], means, STORY_CENTRING), starts, lengths)
    if exact is None:
        exact = len(numbers) < APPROXIMATE_FROM
    codes = _language_codes([article_langs.get(int(n)) for n in numbers])
    edges = _aligned_pairs(passages, numbers, codes, threshold, exact)
    return _grow(edges, article_langs)


def alignment(a: np.ndarray, b: np.ndarray) -> float:
    """Mean best-match cosine between two articles' passage vectors, averaged over both directions."""
    sims = a @ b.T
    return float(0.5 * (sims.max(axis=1).mean() + sims.max(axis=0).mean()))


class _Passages:
    """Every article's centred passage vectors, contiguous in article order: article i holds rows
    ``starts[i]:starts[i] + lengths[i]``."""

    def __init__(self, vectors: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> None:
        self.vectors, self.starts, self.lengths = vectors, starts, lengths

    def article_vectors(self) -> np.ndarray:
        """Each article's mean passage vector, normalised (the vectors candidates are searched by)."""
        sums = np.add.reduceat(self.vectors, self.starts, axis=0) / self.lengths[:, None]
        sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(sums, dtype=np.float32)

    def alignments(self, a: int, others: np.ndarray) -> np.ndarray:
        """``alignment`` of article ``a`` with each of ``others`` (positions), from one matrix product."""
        lens = self.lengths[others]
        at = np.concatenate(([0], np.cumsum(lens)[:-1]))
        rows = np.repeat(self.starts[others] - at, lens) + np.arange(int(lens.sum()))
        own = self.vectors[self.starts[a] : self.starts[a] + self.lengths[a]]
        sims = own @ self.vectors[rows].T
        forward = np.maximum.reduceat(sims, at, axis=1).mean(axis=0)
        backward = np.add.reduceat(sims.max(axis=0), at) / lens
        return 0.5 * (forward + backward)


def _aligned_pairs(
    passages: _Passages, numbers: np.ndarray, codes: np.ndarray, threshold: float, exact: bool
) -> list[tuple[float, int, int]]:
    """Candidate pairs (by article vectors) whose passages align above the thresholds, best first."""
    first, second = _candidate_pairs(passages.article_vectors(), exact)
    edges: list[tuple[float, int, int]] = []
    if len(first) == 0:
        return edges
    bounds = np.flatnonzero(np.diff(first)) + 1
    for lo, hi in zip(np.concatenate(([0], bounds)), np.concatenate((bounds, [len(first)]))):
        a, others = int(first[lo]), second[lo:hi]
        scores = passages.alignments(a, others)
        same_language = codes[others] == codes[a]
        keep = scores >= np.where(same_language, NEAR_DUPLICATE_THRESHOLD, threshold)
        edges.extend((float(s), int(numbers[a]), int(numbers[b])) for s, b in zip(scores[keep], others[keep]))
    edges.sort(key=lambda e: (-e[0], e[1], e[2]))
    return edges


def _candidate_pairs(vectors: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each pair of positions (first < second) where either is among the other's CANDIDATES nearest
    article vectors, sorted by first then second."""
    import faiss

    n, k = len(vectors), min(len(vectors), CANDIDATES + 1)
    index: faiss.Index
    if exact:
        index = faiss.IndexFlatIP(vectors.shape[1])
    else:
        graph = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
        index = graph
    index.add(vectors)
    _, neighbours = index.search(vectors, k)
    mine = np.repeat(np.arange(n, dtype=np.int64), neighbours.shape[1])
    theirs = neighbours.ravel().astype(np.int64)
    valid = (theirs >= 0) & (theirs != mine)
    low, high = np.minimum(mine, theirs)[valid], np.maximum(mine, theirs)[valid]
    keys = np.unique(low * n + high)
    return keys // n, keys % n


def _language_codes(langs: list[str | None]) -> np.ndarray:
    """One integer per distinct language (None, an unknown language, is one value of its own)."""
    table: dict[str | None, int] = {}
    return np.array([table.setdefault(lang, len(table)) for lang in langs], dtype=np.int64)


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
