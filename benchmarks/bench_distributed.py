"""Scaling out, measured on one machine: the Ray build against the local build, and Milvus against FAISS.

Part 1 builds the same corpus alternately with ``build_index`` and ``build_index_on_ray`` (a local Ray
instance with one CPU actor per core, started once; the driver's model loaded once for both) and reports
medians, their ratio, and where the Ray build's time goes (Ray phase: read + chunk + encode on the workers,
model load per actor included; driver phase: the local indexing code). From the local build's encode cost
per vector it projects the Ray build's time on N workers.

Part 2 exports the index into Milvus Lite (per ``--milvus-specs``) and compares, on the dev-evaluation
queries, the dense top-10 articles with the exact FAISS search of the same vectors (the index must be
Flat), plus single-query vector-search latency (the query vectors encoded once, beforehand).

    python benchmarks/bench_distributed.py                      # seeds/ (the demo corpus), 2 alternations
    python benchmarks/bench_distributed.py --ntrex 400          # 400 NTREX-128 articles (../shared)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import ROOT, SEEDS, append_results

from index import BuildProgress, Settings, build_index, build_index_on_ray, export_to_milvus, load_embedder, open_index
from index.build.ray import ray_session
from search import SearchEngine, load_judgements

DEV_EVAL = ROOT / "benchmarks" / "dev_eval" / "seeds.jsonl"


class Phases:
    """Progress events timed: when the driver's own indexing starts (its first "chunk" event after Ray)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.driver_started: float | None = None
        self.seen: set[str] = set()

    def __call__(self, event: BuildProgress) -> None:
        if event.stage == "chunk" and "chunk" not in self.seen:
            self.driver_started = time.perf_counter()
        self.seen.add(event.stage)


def _timed_build(sources: list[Path], settings: Settings, embedder: object, ray: bool) -> dict:
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    phases = Phases()
    t0 = time.perf_counter()
    if ray:
        report = build_index_on_ray(sources, settings, embedder=embedder, progress=phases)  # type: ignore[arg-type]
    else:
        report = build_index(sources, settings, embedder=embedder, progress=phases)  # type: ignore[arg-type]
    total = time.perf_counter() - t0
    vectors = report.manifest.passages + report.manifest.headlines
    before_driver = (phases.driver_started or t0) - t0  # local: reading; Ray: read + chunk + encode on Ray
    return {"seconds": total, "vectors": vectors, "encode_s": report.encode_seconds, "before_driver_s": before_driver}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", type=Path, default=[SEEDS])
    parser.add_argument("--ntrex", type=int, default=0, help="use this many NTREX-128 articles instead")
    parser.add_argument("--repeat", type=int, default=2, help="alternations of local and Ray builds (0: Milvus only)")
    parser.add_argument("--milvus-specs", default="HNSW32;IVF,SQ8;Flat", help="';'-separated specs to export")
    parser.add_argument("--queries", type=Path, default=DEV_EVAL)
    parser.add_argument("--workers", type=int, default=0, help="Ray CPUs (default: this machine's cores)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    try:
        return _run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path) -> dict:
    sources = list(args.sources)
    if args.ntrex:
        import json

        import ntrex

        path = work / "ntrex.jsonl"
        records = ntrex.articles()[: args.ntrex]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        sources = [path]
    home = Settings.from_env().home
    embedder = load_embedder(None, home / "models")
    # no embedding cache: both builds encode every vector
    local = Settings(home=home, index_dir=work / "local", cache_bytes=0)
    build: dict = {}
    if args.repeat:
        build = _compare_builds(sources, local, embedder, args.repeat, args.workers or os.cpu_count() or 1)
    else:  # --repeat 0: the Milvus part alone, over one local build
        build_index(sources, local, embedder=embedder)
    milvus = _milvus(work, args, embedder, work / "local")
    result = {"build": build, "milvus": milvus}
    rows = ([{"part": "build", **build}] if build else []) + [{"part": "milvus", **m} for m in milvus]
    setup = {"sources": [str(p) for p in args.sources], "ntrex": args.ntrex, "repeat": args.repeat,
             "milvus_specs": args.milvus_specs, "workers": args.workers}  # fmt: skip
    append_results("distributed", rows, model=embedder, settings=setup)
    return result


def _compare_builds(sources: list[Path], local: Settings, embedder: object, repeat: int, cpus: int) -> dict:
    """Local and Ray builds alternated; medians, their ratio, the Ray build's phases."""
    local_runs, ray_runs = [], []
    t0 = time.perf_counter()
    with ray_session(num_cpus=cpus):
        ray_start = time.perf_counter() - t0
        for _ in range(repeat):
            local_runs.append(_timed_build(sources, local, embedder, False))
            ray_runs.append(
                _timed_build(sources, replace(local, index_dir=local.index_dir.parent / "ray"), embedder, True)
            )
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    vectors = local_runs[0]["vectors"]
    local_s, ray_s = med(local_runs, "seconds"), med(ray_runs, "seconds")
    encode_s = med(local_runs, "encode_s")
    ray_phase = med(ray_runs, "before_driver_s")
    driver_s = ray_s - ray_phase
    per_vector = encode_s / vectors  # this machine's cores, one model
    ray_fixed = max(0.0, ray_phase - vectors * per_vector)  # Ray's own cost beyond encoding the same vectors
    build = {
        "corpus": ",".join(map(str, sources)), "vectors": vectors, "cpus": cpus, "ray_start_s": round(ray_start, 2),
        "local_s": round(local_s, 2), "ray_s": round(ray_s, 2), "ray_over_local": round(ray_s / local_s, 3),
        "local_vec_per_s": round(vectors / local_s, 1), "ray_vec_per_s": round(vectors / ray_s, 1),
        "local_encode_s": round(encode_s, 2), "ray_phase_s": round(ray_phase, 2), "ray_driver_s": round(driver_s, 2),
        "encode_ms_per_vector": round(per_vector * 1000, 2), "ray_fixed_s": round(ray_fixed, 2),
        "runs_local": [round(r["seconds"], 2) for r in local_runs], "runs_ray": [round(r["seconds"], 2) for r in ray_runs],
    }  # fmt: skip
    print(f"{'build':<8}{'vectors':>8}{'median s':>10}{'vec/s':>8}")
    print(f"{'local':<8}{vectors:>8}{local_s:>10.2f}{vectors / local_s:>8.1f}")
    print(f"{'ray':<8}{vectors:>8}{ray_s:>10.2f}{vectors / ray_s:>8.1f}   ray/local {ray_s / local_s:.2f}")
    print(f"Ray phase {ray_phase:.1f} s (encode alone would be {vectors * per_vector:.1f} s: Ray's own cost "
          f"{ray_fixed:.1f} s), driver phase {driver_s:.1f} s; Ray start {ray_start:.1f} s (once)")  # fmt: skip
    return build


def _milvus(work: Path, args: argparse.Namespace, embedder: object, index_dir: Path) -> list[dict]:
    import numpy as np

    index = open_index(index_dir)
    if index.manifest.index_spec != "Flat":
        raise SystemExit("the Milvus comparison needs an exact (Flat) local index as its reference")
    exact = SearchEngine(index, embedder)  # type: ignore[arg-type]
    queries = [j.text for j in load_judgements(args.queries)]
    known = {a.id for a in index.store.all_articles()}
    vectors = embedder.encode_queries(queries)  # type: ignore[attr-defined]
    reference = exact.search_many(queries, 10, mode="dense", group="articles", snippets=False)
    fetch = 200  # what the engine fetches for a dense top-10 (FUSION_DEPTH x PASSAGES_PER_ARTICLE_FETCH)
    faiss_ms = _latency(lambda q: index.vectors.search(q, fetch), vectors)
    rows = []
    print(f"\n{'Milvus Lite':<14}{'param':>10}{'recall@10':>10}{'same top10':>11}{'ordered':>9}{'p50 ms':>8}"
          f"{'FAISS p50':>10}{'export s':>9}")  # fmt: skip
    for number, spec in enumerate(s for s in args.milvus_specs.split(";") if s):
        store = f"milvus://{work}/milvus{number}.db/bench"
        report = export_to_milvus(index_dir, store, index_type=spec)
        engine = SearchEngine(index, embedder, store=store)  # type: ignore[arg-type]
        got = engine.search_many(queries, 10, mode="dense", group="articles", snippets=False)
        same = [{h.article_id for h in a.results} == {h.article_id for h in b.results} for a, b in zip(reference, got)]
        ordered = [
            [h.article_id for h in a.results] == [h.article_id for h in b.results] for a, b in zip(reference, got)
        ]
        milvus_ms = _latency(lambda q, backend=engine.vectors: backend.search(q, fetch), vectors)
        tuned = report.tuning
        row = {
            "spec": report.spec, "milvus_index": report.index_type,
            "param": f"{tuned.parameter}={tuned.value}" if tuned.parameter else "exact",
            "recall_heldout": tuned.recall_heldout, "queries": len(queries),
            "same_top10": round(float(np.mean(same)), 4), "same_order": round(float(np.mean(ordered)), 4),
            "milvus_p50_ms": round(float(np.median(milvus_ms)), 3), "faiss_p50_ms": round(float(np.median(faiss_ms)), 3),
            "milvus_p99_ms": round(float(np.percentile(milvus_ms, 99)), 3), "export_s": round(report.seconds, 2),
            "articles": len(known), "vectors": report.vectors,
        }  # fmt: skip
        rows.append(row)
        print(f"{row['milvus_index']:<14}{row['param']:>10}{tuned.recall_heldout:>10.3f}{row['same_top10']:>11.3f}"
              f"{row['same_order']:>9.3f}{row['milvus_p50_ms']:>8.2f}{row['faiss_p50_ms']:>10.2f}{row['export_s']:>9.1f}")  # fmt: skip
    return rows


def _latency(search: object, vectors: object) -> list[float]:
    """Milliseconds of one single-query vector search per query (after one warm-up search)."""
    import numpy as np

    queries = np.asarray(vectors, dtype=np.float32)
    run = search  # type: ignore[assignment]
    run(queries[:1])  # type: ignore[operator]
    out = []
    for q in queries:
        t = time.perf_counter()
        run(q[None, :])  # type: ignore[operator]
        out.append((time.perf_counter() - t) * 1000)
    return out


if __name__ == "__main__":
    main()
