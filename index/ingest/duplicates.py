"""Near-duplicate articles (one wire story republished by several outlets), found at build time.

Each article's body becomes a set of shingles: runs of SHINGLE_TERMS consecutive lexical terms
(``index.terms``, so every script works, Chinese included), each a 64-bit hash of its terms' hashes. MinHash signatures
and LSH banding find candidate pairs without comparing every pair; each candidate is then checked
exactly: two articles are copies when their shingle sets overlap by at least MIN_RESEMBLANCE, measured as
the share of the *smaller* set found in the larger one (containment), so a copy with a byline, a
boilerplate footer or a new headline added — or a paragraph cut — still counts, while two reports of one
event in different words share few 5-term runs. Copies form groups (union-find); each group is indexed
once, as its earliest-dated (then first-read) article, and lists the others as republished.

Scale: shingle sets are sorted arrays of 64-bit hashes (8 bytes a shingle, not a Python object each),
signatures are computed with numpy a block of articles at a time, and each LSH band's buckets are runs of
equal keys in a sorted array, so the cost and the memory grow with the number of articles, not with its
square (a bucket of m articles still gives m(m−1)/2 candidates, as in any LSH).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from ..models import Article, Republished
from ..terms import terms

SHINGLE_TERMS = 5
MIN_RESEMBLANCE = 0.6
# Texts with fewer shingles than this are compared only when identical (too little to judge).
MIN_SHINGLES = 8
NUM_PERM = 128
# LSH banding: BANDS bands of ROWS signature values; two articles are candidates when one band is equal.
# 37 × 3 is the banding with the fewest false positives and negatives for a Jaccard threshold of 0.3
# at 128 permutations (datasketch's optimum), so pairs above 0.3 become candidates almost surely.
BANDS, ROWS = 37, 3
# Articles whose signatures are computed in one numpy block (~90 KB of temporaries each).
SIGNATURE_BLOCK = 256
_EMPTY = np.zeros(0, dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: the multiplier of a shingle's polynomial and of a band's key


def shingles(text: str, term_hashes: dict[str, int] | None = None) -> np.ndarray:
    """Hashed runs of SHINGLE_TERMS consecutive terms of ``text`` (all of them when fewer): sorted unique
    64-bit values, each a polynomial of its terms' hashes (``term_hashes``: those hashed already)."""
    words = terms(text)
    if not words:
        return _EMPTY
    known = {} if term_hashes is None else term_hashes
    hashed = [known.get(w) or known.setdefault(w, _hash64(w)) for w in words]
    values = np.array(hashed, dtype=np.uint64)
    width = min(SHINGLE_TERMS, len(values))
    count = len(values) - width + 1
    runs = np.zeros(count, dtype=np.uint64)
    for k in range(width):
        runs = runs * _MIX + values[k : k + count]
    return np.unique(runs)


def resemblance(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the smaller shingle set found in the larger one."""
    if not len(a) or not len(b):
        return 0.0
    return len(np.intersect1d(a, b, assume_unique=True)) / min(len(a), len(b))


def signatures(sets: Sequence[np.ndarray]) -> np.ndarray:
    """MinHash signature of each shingle set (NUM_PERM uint32 minima of random affine maps mod 2³², the
    shingles being uniform hashes already); an empty set's is all 2³² − 1."""
    rng = np.random.default_rng(1)
    a = (rng.integers(0, 1 << 31, NUM_PERM, dtype=np.uint64) * 2 + 1).astype(np.uint32)
    b = rng.integers(0, 1 << 32, NUM_PERM, dtype=np.uint64).astype(np.uint32)
    out = np.full((len(sets), NUM_PERM), np.iinfo(np.uint32).max, dtype=np.uint32)
    for start in range(0, len(sets), SIGNATURE_BLOCK):
        block = sets[start : start + SIGNATURE_BLOCK]
        sizes = np.array([len(s) for s in block], dtype=np.int64)
        filled = np.flatnonzero(sizes)
        if not len(filled):
            continue
        values = np.concatenate([block[i] for i in filled.tolist()])
        permuted = (values ^ (values >> np.uint64(32))).astype(np.uint32)[:, None] * a + b
        firsts = (np.cumsum(sizes) - sizes)[filled]
        out[start + filled] = np.minimum.reduceat(permuted, firsts, axis=0)
    return out


def band_keys(signature: np.ndarray) -> np.ndarray:
    """One 64-bit key per LSH band of each signature (rows of ``signature``): equal bands, equal keys (a
    rare collision of unequal bands only adds a candidate, which the exact check then refuses)."""
    bands = signature[:, : BANDS * ROWS].reshape(len(signature), BANDS, ROWS).astype(np.uint64)
    key = np.zeros(bands.shape[:2], dtype=np.uint64)
    for r in range(ROWS):
        key = key * _MIX + bands[:, :, r]
    return key


def find_duplicates(articles: Sequence[Article]) -> tuple[list[Article], list[Republished]]:
    """The articles to index (one per group of copies) and the copies left out, with what they copy."""
    if len(articles) < 2:
        return list(articles), []
    term_hashes: dict[str, int] = {}
    sets = [shingles(a.text, term_hashes) for a in articles]
    parent = list(range(len(articles)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_hash: dict[int, int] = {}
    compared = []  # articles whose text was not seen before, with enough shingles to judge
    for i, article in enumerate(articles):
        exact = by_hash.setdefault(_hash64(article.text.strip()), i)
        if exact != i:
            join(exact, i)
        elif len(sets[i]) >= MIN_SHINGLES:
            compared.append(i)
    for i, j in candidate_pairs(np.array(compared, dtype=np.int64), [sets[i] for i in compared]):
        if resemblance(sets[i], sets[j]) >= MIN_RESEMBLANCE:
            join(i, j)
    return _groups(articles, [root(i) for i in range(len(articles))])


def candidate_pairs(numbers: np.ndarray, sets: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """The pairs of ``numbers`` (first < second, sorted) whose shingle sets share an LSH band: each band's
    keys sorted, a bucket being a run of equal keys (memory: a few arrays of one value per article)."""
    if len(numbers) < 2:
        return []
    keys = band_keys(signatures(sets))
    span = int(numbers.max()) + 1  # a pair's key: first · span + second
    found = [np.zeros(0, dtype=np.int64)]
    for band in range(BANDS):
        order = np.argsort(keys[:, band], kind="stable")
        sorted_keys = keys[order, band]
        firsts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
        sizes = np.diff(np.concatenate((firsts, [len(order)])))
        for first, size in zip(firsts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
            members = numbers[order[first : first + size]]
            a, b = np.triu_indices(size, 1)
            low, high = np.minimum(members[a], members[b]), np.maximum(members[a], members[b])
            found.append(low * span + high)
    pairs = np.unique(np.concatenate(found))
    return list(zip((pairs // span).tolist(), (pairs % span).tolist()))


def _groups(articles: Sequence[Article], roots: list[int]) -> tuple[list[Article], list[Republished]]:
    """Each group's lead (the earliest-dated article, undated after dated, then the first read) and its copies."""
    groups: dict[int, list[int]] = {}
    for i, r in enumerate(roots):
        groups.setdefault(r, []).append(i)
    kept: list[Article] = []
    copies: list[Republished] = []
    for members in groups.values():
        lead = min(members, key=lambda i: (articles[i].date is None, articles[i].date or "", i))
        kept.append(articles[lead])
        for i in members:
            if i != lead:
                a = articles[i]
                copies.append(Republished(articles[lead].id, a.id, a.title, a.source, a.url, a.date, a.path))
    order = {a.id: n for n, a in enumerate(articles)}
    kept.sort(key=lambda a: order[a.id])
    return kept, copies


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
