"""Vector index benchmark: every index type at 10k, 100k and 1M vectors of dimension 384.

For each size and type: build (train + add) time, bytes per vector, the parameter recall-targeted
tuning chose and the recall it measured on held-out corpus vectors, recall@10 against exact search on
fresh queries, single-query latency p50/p99, and batched QPS at 1 and 2 threads. Vectors come from a
mixture fitted to real passage embeddings (benchmarks/synthetic.py). Appends JSON lines to
benchmarks/results/index.jsonl.

    python benchmarks/bench_index.py                     # 10k, 100k, 1M (about 15 minutes on 2 cores)
    python benchmarks/bench_index.py --sizes 10000 --types Flat,HNSW32
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from common import append_results
from synthetic import fit_mixture

from index import Settings
from index.vectors import create_vector_index, parse_spec, tune
from index.vectors.tuning import holdout_rows, recall_at_k

DEFAULT_TYPES = "Flat,HNSW32,IVF,Flat,IVF,SQ8,IVF,PQ"


def split_types(text: str) -> list[str]:
    """'Flat,HNSW32,IVF,SQ8' -> ['Flat', 'HNSW32', 'IVF,SQ8'] (IVF specs carry their own comma)."""
    parts, out = text.split(","), []
    i = 0
    while i < len(parts):
        if parts[i].upper().startswith("IVF") and i + 1 < len(parts):
            out.append(f"{parts[i]},{parts[i + 1]}")
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


def time_single(index, queries: np.ndarray) -> tuple[float, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        index.search(q[None, :], 10)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def time_batch(index, queries: np.ndarray, threads: int) -> float:
    import faiss

    faiss.omp_set_num_threads(threads)
    try:
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < 1.0:
            index.search(queries, 10)
            done += len(queries)
        return done / (time.perf_counter() - started)
    finally:
        faiss.omp_set_num_threads(2)


def run(n: int, spec_text: str, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, target: float) -> dict:
    """Build, tune and measure one index type on n vectors."""
    ids = np.arange(n, dtype=np.int64)
    spec = parse_spec(spec_text, n, vectors.shape[1], 1 << 40)
    holdout = holdout_rows(n)  # kept out until tuned, as the builder does
    keep = np.ones(n, bool)
    keep[holdout] = False
    started = time.perf_counter()
    index = create_vector_index(spec, vectors.shape[1])
    index.lookup = lambda wanted: vectors[wanted]
    if spec.kind == "IVF":
        index.train(vectors)
    index.add(ids[keep], vectors[keep])
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    tuning = tune(index, vectors, ids, target, holdout=holdout if not spec.exact else None)
    tune_s = time.perf_counter() - started
    index.add(ids[holdout], vectors[holdout])
    _, found = index.search(queries, 10)
    p50, p99 = time_single(index, queries)
    return {
        "n": n,
        "spec": str(spec),
        "build_s": round(build_s, 2),
        "tune_s": round(tune_s, 2),
        "bytes_per_vector": round(index.memory_bytes() / n, 1),
        "params": dict(index.params),
        "recall_target": target,
        "recall_heldout": tuning.recall_heldout,
        "recall_fresh_queries": round(recall_at_k(found, truth), 4),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "qps_1_thread": round(time_batch(index, queries, 1), 1),
        "qps_2_threads": round(time_batch(index, queries, 2), 1),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--types", default=DEFAULT_TYPES)
    parser.add_argument("--recall", type=float, default=0.95)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--fit-from", type=Path, default=Settings.from_env().index_dir, help="index whose vectors shape the mixture"
    )
    parser.add_argument(
        "--hnsw-max", type=int, default=100_000, help="skip HNSW above this size (its build is slow on 2 cores)"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file [benchmarks/results/index.jsonl]")
    args = parser.parse_args(argv)

    mixture = fit_mixture(args.fit_from)
    queries = mixture.sample(args.queries, seed=2)
    results = []
    header = f"{'n':>9} {'spec':<14}{'build s':>9}{'B/vec':>8}{'param':>15}{'rec.held':>9}{'rec.new':>8}{'p50 ms':>8}{'p99 ms':>8}{'QPS1':>9}{'QPS2':>9}{'x Flat':>8}"
    print(header)
    for n in (int(s) for s in args.sizes.split(",")):
        vectors = mixture.sample(n, seed=1)
        flat_p50 = None
        truth = None
        for spec_text in split_types(args.types):
            if spec_text.upper().startswith("HNSW") and n > args.hnsw_max:
                continue
            if truth is None:
                exact = create_vector_index(parse_spec("Flat", n, vectors.shape[1], 0), vectors.shape[1])
                exact.add(np.arange(n), vectors)
                truth = exact.search(queries, 10)[1]
                del exact
            row = run(n, spec_text, vectors, queries, truth, args.recall)
            if row["spec"] == "Flat":
                flat_p50 = row["p50_ms"]
            row["speedup_vs_flat"] = round(flat_p50 / row["p50_ms"], 1) if flat_p50 else None
            results.append(row)
            param = ",".join(f"{k}={v}" for k, v in row["params"].items()) or "exact"
            print(
                f"{n:>9} {row['spec']:<14}{row['build_s']:>9}{row['bytes_per_vector']:>8}{param:>15}"
                f"{row['recall_heldout']:>9}{row['recall_fresh_queries']:>8}{row['p50_ms']:>8}{row['p99_ms']:>8}"
                f"{row['qps_1_thread']:>9}{row['qps_2_threads']:>9}{row['speedup_vs_flat'] or '':>8}",
                flush=True,
            )
            setup = {"n": n, "spec": spec_text, "recall_target": args.recall, "queries": args.queries, "threads": 2,
                   "dim": vectors.shape[1]}  # fmt: skip
            append_results("index", [row], settings=setup, out=args.out)
        del vectors
    return results


if __name__ == "__main__":
    main()
