"""Recall-targeted tuning: pick the smallest nprobe / efSearch whose recall@10 reaches a target, for FAISS
(``tune``) and for any other store that can search at a given parameter value (``tune_search``).

Queries are a random sample of the corpus's own vectors, each searched with itself left out of both
the exact and the approximate answer (leave-one-out). Half of them choose the parameter, the other
half — held out — measure the recall that is recorded in the manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..errors import SemsearchError
from .faiss_index import FaissIndex
from .spec import IndexSpec

RECALL_AT = 10
TUNING_QUERIES = 1000  # split in two halves: tune / held out
# Aim this far above the target on the tuning half, so sampling error (about ±0.007 with 500 queries)
# does not leave the held-out recall below the target.
TUNING_MARGIN = 0.01
_HNSW_EF = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
_RERANK_FACTORS = (16, 64, 256)

# Searches ``queries`` with the search parameter at ``value``: the ids of the ``k`` best per query (-1 where
# there are fewer), from the index under tuning: all a vector store supplies to be tuned.
SearchAt = Callable[[int, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class Tuning:
    """What tuning chose and measured."""

    parameter: str | None
    value: int | None
    target: float
    recall_tuning: float
    recall_heldout: float
    queries: int


def validate_target(target: float) -> float:
    """A recall target in (0, 1], or a clear error."""
    if not isinstance(target, (int, float)) or not 0 < float(target) <= 1:
        raise SemsearchError(f"--recall must be in (0, 1], got {target!r}; 0.95 is a good default.")
    return float(target)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's true top-k found in its approximate top-k."""
    hits = [
        len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, (t >= 0).sum()) for f, t in zip(found, truth)
    ]
    return float(np.mean(hits)) if hits else 1.0


def without_own(found_ids: np.ndarray, query_ids: np.ndarray, k: int) -> np.ndarray:
    """Each row's first k ids other than the query's own (-1 ids never match a real one)."""
    out = np.full((len(found_ids), k), -1, np.int64)
    for row, (found, own) in enumerate(zip(found_ids, query_ids)):
        rest = found[found != own][:k]
        out[row, : len(rest)] = rest
    return out


def exact_neighbours(
    vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, query_ids: np.ndarray, k: int
) -> np.ndarray:
    """Exact top-k ids for each query, its own id excluded (brute force with a FAISS flat index)."""
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    step = 200_000
    best_scores = np.full((len(queries), k + 1), -np.inf, np.float32)
    best_ids = np.full((len(queries), k + 1), -1, np.int64)
    for start in range(0, len(vectors), step):
        flat.reset()
        flat.add(np.ascontiguousarray(vectors[start : start + step], dtype=np.float32))
        scores, rows = flat.search(queries, min(k + 1, flat.ntotal))
        merged_scores = np.hstack([best_scores, scores])
        merged_ids = np.hstack([best_ids, np.where(rows >= 0, ids[start + np.maximum(rows, 0)], -1)])
        order = np.argsort(-merged_scores, axis=1)[:, : k + 1]
        best_scores = np.take_along_axis(merged_scores, order, axis=1)
        best_ids = np.take_along_axis(merged_ids, order, axis=1)
    return without_own(best_ids, query_ids, k)


def holdout_rows(n: int, seed: int = 7) -> np.ndarray:
    """Row positions to keep out of a new index until it is tuned (sorted): up to a fifth of the corpus."""
    size = min(TUNING_QUERIES, n // 5)
    if size < 100:  # too few to measure recall on; tune leave-one-out instead
        return np.zeros(0, np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


@dataclass(frozen=True)
class _Probe:
    """Tuning queries with their exact neighbours: held-out rows (not in the index yet, so truly unseen), or
    indexed rows searched leave-one-out (their own id removed from both answers)."""

    queries: np.ndarray
    own: np.ndarray  # each query's own id, -1 for a held-out row
    truth: np.ndarray

    @classmethod
    def sample(cls, vectors: np.ndarray, ids: np.ndarray, holdout: np.ndarray | None, seed: int) -> _Probe:
        if holdout is not None and len(holdout):
            keep = np.ones(len(ids), bool)
            keep[holdout] = False
            queries = np.ascontiguousarray(vectors[holdout], dtype=np.float32)
            own = np.full(len(holdout), -1)
            return cls(queries, own, exact_neighbours(vectors[keep], ids[keep], queries, own, RECALL_AT))
        rows = np.sort(np.random.default_rng(seed).choice(len(ids), size=min(TUNING_QUERIES, len(ids)), replace=False))
        queries = np.ascontiguousarray(vectors[rows], dtype=np.float32)
        return cls(queries, ids[rows], exact_neighbours(vectors, ids, queries, ids[rows], RECALL_AT))

    def recall(self, search_at: SearchAt, value: int, part: slice) -> float:
        """Recall@10 of ``search_at`` at ``value`` over the queries of ``part``."""
        found = search_at(value, self.queries[part], RECALL_AT + 1)
        return recall_at_k(without_own(found, self.own[part], RECALL_AT), self.truth[part])


def search_candidates(spec: IndexSpec) -> list[int]:
    """The values of the search parameter tuning tries, in increasing order: efSearch for HNSW, nprobe (powers
    of two up to every list) for IVF."""
    if spec.kind == "HNSW":
        return list(_HNSW_EF)  # below 16 FAISS would search with efSearch = k anyway
    values, v = [], 1
    while v < spec.lists:
        values.append(v)
        v *= 2
    return [*values, spec.lists]


def tune_search(
    searches: Sequence[SearchAt],
    spec: IndexSpec,
    vectors: np.ndarray | None,
    ids: np.ndarray,
    target: float,
    *,
    parameter: str,
    holdout: np.ndarray | None = None,
    seed: int = 7,
) -> Tuning:
    """The smallest value of the search parameter whose recall@10 reaches ``target``, for any vector store.

    ``searches``: ways to search at a parameter value (a store supplies only that), tried in order until one
    reaches the target at some value (a PQ index: re-ranking ever deeper); when none does, the last one at the
    largest value. ``holdout``: rows of ``vectors`` not in the index yet, the truly unseen queries; without
    it, a sample of indexed vectors is used leave-one-out (optimistic for HNSW, whose graph links a stored
    query straight to its neighbours). Half of the queries choose the value, the other half measure it.
    ``vectors`` may be None for exact indexes, which need no tuning.
    """
    target = validate_target(target)
    if spec.exact or len(ids) <= RECALL_AT + 1:
        return Tuning(None, None, target, 1.0, 1.0, 0)
    if vectors is None:
        raise ValueError("an approximate index needs its vectors to be tuned")
    probe = _Probe.sample(vectors, ids, holdout, seed)
    half = len(probe.queries) // 2
    tune_part, held_part = slice(0, half), slice(half, None)
    candidates = search_candidates(spec)
    aim = min(1.0, target + TUNING_MARGIN)
    floor = RECALL_AT if spec.kind == "HNSW" else 0
    chosen: int | None = None
    for search_at in searches:
        chosen = _smallest(partial(_reaches, probe, search_at, tune_part, aim), candidates, floor)
        if chosen is not None:
            break
    if chosen is None:
        chosen = candidates[-1]  # the target is out of reach: search as thoroughly as the type allows
    tuned = probe.recall(search_at, chosen, tune_part)
    held = probe.recall(search_at, chosen, held_part)
    return Tuning(parameter, chosen, target, round(tuned, 4), round(held, 4), len(probe.queries))


def _reaches(probe: _Probe, search_at: SearchAt, part: slice, aim: float, value: int) -> bool:
    return probe.recall(search_at, value, part) >= aim


def _smallest(reaches: Callable[[int], bool], candidates: list[int], low: int) -> int | None:
    """Smallest value reaching the target: doubling over the candidates, then bisection below (above ``low``)."""
    for value in candidates:
        if reaches(value):
            break
        low = value
    else:
        return None
    chosen = value
    while chosen - low > 1:
        mid = (low + chosen) // 2
        if reaches(mid):
            chosen = mid
        else:
            low = mid
    return chosen


def tune(
    index: FaissIndex,
    vectors: np.ndarray | None,
    ids: np.ndarray,
    target: float,
    *,
    holdout: np.ndarray | None = None,
    seed: int = 7,
) -> Tuning:
    """Set a FAISS index's search parameter (efSearch, nprobe; a PQ index's re-rank depth too) to the smallest
    value reaching ``target`` recall@10 (see ``tune_search``)."""
    parameter = "efSearch" if index.spec.kind == "HNSW" else "nprobe"
    # PQ ranks candidates coarsely: when probing every list is not enough, re-rank a deeper candidate list
    factors = _RERANK_FACTORS if index.spec.reranked else (None,)
    searches = [partial(_faiss_search_at, index, parameter, factor) for factor in factors]
    tuning = tune_search(searches, index.spec, vectors, ids, target, parameter=parameter, holdout=holdout, seed=seed)
    if tuning.value is not None:
        index.params[parameter] = tuning.value
    return tuning


def _faiss_search_at(index: FaissIndex, parameter: str, factor: int | None, value: int, queries: np.ndarray,
                     k: int) -> np.ndarray:  # fmt: skip
    if factor is not None:
        index.params["rerank_factor"] = factor
    index.params[parameter] = value
    return index.search(queries, k)[1]
