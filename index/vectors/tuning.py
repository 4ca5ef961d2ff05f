"""Recall-targeted tuning: pick the smallest nprobe / efSearch whose recall@10 reaches a target.

Queries are a random sample of the corpus's own vectors, each searched with itself left out of both
the exact and the approximate answer (leave-one-out). Half of them choose the parameter, the other
half — held out — measure the recall that is recorded in the manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import SemsearchError
from .faiss_index import FaissIndex

RECALL_AT = 10
TUNING_QUERIES = 1000  # split in two halves: tune / held out
# Aim this far above the target on the tuning half, so sampling error (about ±0.007 with 500 queries)
# does not leave the held-out recall below the target.
TUNING_MARGIN = 0.01
_HNSW_EF = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
_RERANK_FACTORS = (16, 64, 256)


@dataclass(frozen=True)
class Tuning:
    """What tuning chose and measured."""

    parameter: str | None
    value: int | None
    target: float
    recall_tuning: float
    recall_heldout: float
    queries: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict for the manifest."""
        return asdict(self)


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


def _leave_one_out(index: FaissIndex, queries: np.ndarray, query_ids: np.ndarray, k: int) -> np.ndarray:
    _, ids = index._search(queries, k + 1, None)
    return _without_own(ids, query_ids, k)


def _without_own(found_ids: np.ndarray, query_ids: np.ndarray, k: int) -> np.ndarray:
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
    from .faiss_index import _faiss

    flat = _faiss().IndexFlatIP(vectors.shape[1])
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
    return _without_own(best_ids, query_ids, k)


def holdout_rows(n: int, seed: int = 7) -> np.ndarray:
    """Row positions to keep out of a new index until it is tuned (sorted): up to a fifth of the corpus."""
    size = min(TUNING_QUERIES, n // 5)
    if size < 100:  # too few to measure recall on; tune leave-one-out instead
        return np.zeros(0, np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def tune(
    index: FaissIndex,
    vectors: np.ndarray | None,
    ids: np.ndarray,
    target: float,
    *,
    holdout: np.ndarray | None = None,
    seed: int = 7,
) -> Tuning:
    """Set the index's search parameter to the smallest value reaching ``target`` recall@10.

    ``holdout``: rows of ``vectors`` that are not in the index yet; they are the queries, truly
    unseen. Without it, a sample of indexed vectors is used leave-one-out (optimistic for HNSW, whose
    graph links a stored query straight to its neighbours). ``vectors`` may be None for exact indexes,
    which need no tuning.
    """
    target = validate_target(target)
    n = len(ids)
    if index.spec.exact or n <= RECALL_AT + 1:
        return Tuning(None, None, target, 1.0, 1.0, 0)
    if vectors is None:
        raise ValueError("an approximate index needs its vectors to be tuned")
    parameter, candidates = _candidates(index)
    if holdout is not None and len(holdout):
        rows = holdout
        queries = np.ascontiguousarray(vectors[rows], dtype=np.float32)
        keep = np.ones(n, bool)
        keep[rows] = False
        truth = exact_neighbours(vectors[keep], ids[keep], queries, np.full(len(rows), -1), RECALL_AT)
        query_ids = np.full(len(rows), -1)
    else:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=min(TUNING_QUERIES, n), replace=False))
        queries = np.ascontiguousarray(vectors[rows], dtype=np.float32)
        query_ids = ids[rows]
        truth = exact_neighbours(vectors, ids, queries, query_ids, RECALL_AT)
    half = len(rows) // 2

    def recall(value: int, part: slice) -> float:
        index.params[parameter] = value
        return recall_at_k(_leave_one_out(index, queries[part], query_ids[part], RECALL_AT), truth[part])

    tune_part, held_part = slice(0, half), slice(half, None)
    # PQ ranks candidates coarsely: when probing every list is not enough, re-rank a deeper candidate list
    factors = _RERANK_FACTORS if index.spec.reranked else (None,)
    aim = min(1.0, target + TUNING_MARGIN)
    for factor in factors:
        if factor is not None:
            index.params["rerank_factor"] = factor
        chosen = _smallest(lambda value: recall(value, tune_part) >= aim, candidates, parameter)
        if chosen is not None:
            break
    if chosen is None:
        chosen = candidates[-1]  # the target is out of reach: search as thoroughly as the type allows
    tuned = recall(chosen, tune_part)
    index.params[parameter] = chosen
    return Tuning(parameter, chosen, target, round(tuned, 4), round(recall(chosen, held_part), 4), len(rows))


def _smallest(reaches: Callable[[int], bool], candidates: list[int], parameter: str) -> int | None:
    """Smallest value reaching the target: doubling over the candidates, then bisection below."""
    low = RECALL_AT if parameter == "efSearch" else 0
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


def _candidates(index: FaissIndex) -> tuple[str, list[int]]:
    if index.spec.kind == "HNSW":
        return "efSearch", list(_HNSW_EF)  # below 16 FAISS would search with efSearch = k anyway
    lists = index.spec.lists
    values, v = [], 1
    while v < lists:
        values.append(v)
        v *= 2
    return "nprobe", [*values, lists]
