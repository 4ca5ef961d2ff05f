"""Near-duplicate articles (one wire story republished by several outlets), found at build time.

Each article's body becomes a set of shingles: runs of SHINGLE_TERMS consecutive lexical terms
(``index.terms``, so every script works, Chinese included). MinHash signatures and LSH (datasketch)
find candidate pairs without comparing every pair; each candidate is then checked exactly: two
articles are copies when their shingle sets overlap by at least MIN_RESEMBLANCE, measured as the share
of the *smaller* set found in the larger one (containment), so a copy with a byline, a boilerplate
footer or a new headline added — or a paragraph cut — still counts, while two reports of one event in
different words share few 5-term runs. Copies form groups (union-find); each group is indexed once,
as its earliest-dated (then first-read) article, and lists the others as republished.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..models import Article, Republished
from ..terms import terms

SHINGLE_TERMS = 5
MIN_RESEMBLANCE = 0.6
# Texts with fewer shingles than this are compared only when identical (too little to judge).
MIN_SHINGLES = 8
NUM_PERM = 128
# LSH recall target: candidates are pairs whose estimated Jaccard may be above this (then checked exactly).
LSH_THRESHOLD = 0.3


def shingles(text: str) -> set[bytes]:
    """Hashed runs of SHINGLE_TERMS consecutive terms of ``text``."""
    words = terms(text)
    if len(words) < SHINGLE_TERMS:
        return {_hash(" ".join(words))} if words else set()
    return {_hash(" ".join(words[i : i + SHINGLE_TERMS])) for i in range(len(words) - SHINGLE_TERMS + 1)}


def resemblance(a: set[bytes], b: set[bytes]) -> float:
    """Share of the smaller shingle set found in the larger one."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def find_duplicates(articles: Sequence[Article]) -> tuple[list[Article], list[Republished]]:
    """The articles to index (one per group of copies) and the copies left out, with what they copy."""
    if len(articles) < 2:
        return list(articles), []
    from datasketch import MinHash, MinHashLSH

    sets = [shingles(a.text) for a in articles]
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    signatures = MinHash.bulk([list(s) for s in sets], num_perm=NUM_PERM)
    by_hash: dict[str, int] = {}
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

    for i, (article, shingle_set, signature) in enumerate(zip(articles, sets, signatures)):
        exact = _hash(article.text.strip()).hex()
        if exact in by_hash:
            join(by_hash[exact], i)
            continue
        by_hash[exact] = i
        if len(shingle_set) < MIN_SHINGLES:
            continue
        for j in lsh.query(signature):
            if resemblance(shingle_set, sets[j]) >= MIN_RESEMBLANCE:
                join(j, i)
        lsh.insert(i, signature)
    groups: dict[int, list[int]] = {}
    for i in range(len(articles)):
        groups.setdefault(root(i), []).append(i)
    kept: list[Article] = []
    copies: list[Republished] = []
    for members in groups.values():
        # the earliest-dated article leads (undated ones after dated), then the first one read
        lead = min(members, key=lambda i: (articles[i].date is None, articles[i].date or "", i))
        kept.append(articles[lead])
        for i in members:
            if i != lead:
                a = articles[i]
                copies.append(Republished(articles[lead].id, a.id, a.title, a.source, a.url, a.date, a.path))
    order = {a.id: n for n, a in enumerate(articles)}
    kept.sort(key=lambda a: order[a.id])
    return kept, copies


def _hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
