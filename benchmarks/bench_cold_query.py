"""Cold start: the time from typing `semsearch query` to the answer, each run in a fresh process.

Side by side in one run, medians of ``--repeat`` fresh processes with a warm page cache (one unmeasured run
first), wall and CPU time (the children's rusage): ``python -c "import typer"`` (the floor of any typer
CLI), ``semsearch --help``, cold ``semsearch query`` in lexical, dense and hybrid mode on the seeds index
and on a large synthetic index (``--large-vectors``: synthetic vectors under synthetic articles, as
bench_query.py builds them), and ``semsearch query --url`` against a running ``semsearch serve`` (cold CLI
process, and the HTTP round trip alone, p50). Then the fp32 ONNX query encoder against torch: single-query
latency in a warm process, cosine agreement, and the dev evaluation (MRR@10, dense) with each.
Appends JSON lines to benchmarks/results/cold_query.jsonl.

    python benchmarks/bench_cold_query.py --index /tmp/seeds-index                 # seeds only
    python benchmarks/bench_cold_query.py --index /tmp/seeds-index --large-vectors 1000000
    python benchmarks/bench_cold_query.py --index /tmp/seeds-index --large-vectors 200000 --large-only
    python benchmarks/bench_cold_query.py --index /tmp/seeds-index --large-index /tmp/large/index \
        --before /tmp/semsearch-before --before-home ~/.cache/semsearch-before   # before/after side by side

Every process runs as an installed semsearch does, with its bytecode cached: PYTHONDONTWRITEBYTECODE is left
out of the children's environment (set, it recompiles every module of both packages in every process, ~0.1 s
a query that no user pays), so the unmeasured first run writes ``__pycache__``.

``--before`` names a checkout of the code to compare with (``git archive <commit> | tar -x -C DIR``): every
cold case then runs under both, alternating, in the same run; ``--before-home`` gives it its own
SEMSEARCH_HOME, so the two never share (or rewrite) one model export.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, SEEDS, append_results
from synthetic import BatchMixtureEmbedder, fit_mixture, synthetic_corpus

from index import Settings, build_index, iter_articles, load_embedder, open_index
from index.embedding.backends import ONNX_FP32, TORCH_FP32
from search import SearchEngine, evaluate, load_judgements

QUERY = "Russia Iran treaty"


def cold(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Median wall and CPU seconds of ``cmd`` over ``repeat`` fresh processes (after one warm-up run)."""
    subprocess.run(cmd, capture_output=True, env=env, check=True)
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index of seeds/ built with the real model")
    parser.add_argument("--large-vectors", type=int, default=0, help="also a synthetic index of this many vectors")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url-queries", type=int, default=50)
    parser.add_argument("--large-only", action="store_true", help="only the synthetic index's cold queries")
    parser.add_argument("--large-index", type=Path, help="a synthetic index built before (instead of --large-vectors)")
    parser.add_argument("--before", type=Path, help="a checkout of the code to measure side by side with this one")
    parser.add_argument("--before-home", type=Path, help="SEMSEARCH_HOME for --before (default: the same)")
    parser.add_argument("--skip-server", action="store_true", help="no --url cases, no encoder comparison")
    parser.add_argument("--judgements", type=Path, default=ROOT / "benchmarks" / "dev_eval" / "seeds.jsonl")
    args = parser.parse_args(argv)

    semsearch = str(Path(sys.executable).with_name("semsearch"))
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as installed: see above
    env = {**cached, "PYTHONPATH": str(ROOT)}
    codes = {"after": env}
    if args.before:
        home = {"SEMSEARCH_HOME": str(args.before_home)} if args.before_home else {}
        codes = {"before": {**cached, "PYTHONPATH": str(args.before.resolve()), **home}, "after": env}
    rows: list[dict] = []

    def measure(name: str, cmd: list[str], **extra: object) -> None:
        figures = []
        for code, code_env in codes.items():
            wall, cpu = cold(cmd, args.repeat, code_env)
            rows.append({"case": name, "code": code, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), **extra})
            figures += [wall, cpu]
        print(f"{name:<44}" + "".join(f"{f:>9.3f}" for f in figures), flush=True)

    print(
        f"{'cold, fresh process (median of ' + str(args.repeat) + ')':<44}"
        + "".join(f"{c + ' wall':>9}{'cpu':>9}" for c in codes)
    )
    measure("python -c 'import typer'", [sys.executable, "-c", "import typer"])
    measure("python -c 'import search'", [sys.executable, "-c", "import search"])
    # the floor of a lexical query: typer (0.29 here) parses arguments with pydantic, BM25 scores with numpy
    measure("python -c 'import typer, pydantic, numpy'", [sys.executable, "-c", "import typer, pydantic, numpy"])
    measure("semsearch --help", [semsearch, "--help"])
    indexes = {} if args.large_only else {"seeds": args.index}
    if args.large_index:
        indexes[f"synthetic {_vectors(args.large_index)}"] = args.large_index
    elif args.large_vectors:
        indexes[f"synthetic {args.large_vectors}"] = _large_index(args.large_vectors, args.index)
    for label, index_dir in indexes.items():
        for mode in ("lexical", "dense", "hybrid"):
            cmd = [semsearch, "query", QUERY, "--mode", mode, "--json", "--index", str(index_dir)]
            measure(f"query {mode} ({label})", cmd, index=label, mode=mode)
    if not args.large_only and not args.skip_server:
        rows += _through_server(semsearch, args.index, env, args.repeat, args.url_queries)
        rows.append(_encoders(args.index, args.judgements))
    setup = {"repeat": args.repeat, "index": str(args.index), "large_vectors": args.large_vectors,
             "url_queries": args.url_queries, "query": QUERY}  # fmt: skip
    append_results("cold_query", rows, model=open_index(args.index).manifest.model.name, settings=setup)
    return rows


def _vectors(index_dir: Path) -> int:
    """How many vectors (passages and headlines) an index holds, from its manifest."""
    manifest = open_index(index_dir).manifest
    return int(manifest.passages + manifest.headlines)


def _large_index(vectors: int, fit_from: Path) -> Path:
    """A synthetic index of ~``vectors`` vectors (synthetic.py's corpus and mixture encoder, as bench_query.py)."""
    work = Path(tempfile.mkdtemp(prefix="semsearch-cold-bench-"))
    t0 = time.perf_counter()
    synthetic_corpus(work / "corpus.jsonl", vectors)
    settings = Settings.from_env().with_overrides(index_dir=work / "index", language_neutral=False, cache_bytes=0)
    real = load_embedder(None, settings.models_dir, TORCH_FP32)
    t1 = time.perf_counter()
    report = build_index([work / "corpus.jsonl"], settings, embedder=BatchMixtureEmbedder(real, fit_mixture(fit_from)))
    m = report.manifest
    print(
        f"synthetic index: {m.passages + m.headlines} vectors, {m.index_spec}, corpus and model {t1 - t0:.0f} s, "
        f"built in {time.perf_counter() - t1:.0f} s"
    )
    return settings.index_dir


def _through_server(semsearch: str, index_dir: Path, env: dict[str, str], repeat: int, n: int) -> list[dict]:
    """``query --url`` against ``semsearch serve`` in its own process: a cold CLI, and the round trip alone."""
    from search.remote import query_server

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    server = subprocess.Popen([semsearch, "serve", "--index", str(index_dir), "--port", url.rsplit(":", 1)[1]],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                query_server(url, ["warm up"], {"k": 10}, timeout=5)
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("semsearch serve did not start") from None
                time.sleep(0.3)
        wall, cpu = cold([semsearch, "query", QUERY, "--json", "--url", url], repeat, env)
        print(f"{'query --url (cold CLI process)':<44}{wall:>9.3f}{cpu:>9.3f}")
        titles = [a.title for a in iter_articles([SEEDS]) if getattr(a, "title", "")]
        queries = (titles * (n // max(1, len(titles)) + 1))[:n]
        trips = []
        for q in queries:
            t0 = time.perf_counter()
            query_server(url, [q], {"k": 10})
            trips.append((time.perf_counter() - t0) * 1000)
        p50 = statistics.median(trips)
        print(f"{'query --url round trip p50 (ms, hybrid k=10)':<44}{p50:>9.1f}")
    finally:
        server.terminate()
        server.wait(10)
    return [
        {"case": "query --url (cold CLI)", "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)},
        {"case": "query --url round trip", "p50_ms": round(p50, 2), "queries": len(trips)},
    ]


def _encoders(index_dir: Path, judgements: Path) -> dict:
    """onnx-fp32 against torch-fp32: warm single-query latency, cosine, dev evaluation MRR@10 (dense)."""
    models = Settings.from_env().models_dir
    onnx, torch = load_embedder(None, models, ONNX_FP32), load_embedder(None, models, TORCH_FP32)
    judged = load_judgements(judgements)
    texts = [j.text for j in judged]
    latency = {}
    for name, embedder in (("onnx-fp32", onnx), ("torch-fp32", torch)):
        embedder.encode_queries(texts[:3])  # warm
        times = []
        for t in texts:
            t0 = time.perf_counter()
            embedder.encode_queries([t])
            times.append((time.perf_counter() - t0) * 1000)
        latency[name] = statistics.median(times)
    cosines = (onnx.encode_queries(texts) * torch.encode_queries(texts)).sum(axis=1)
    base = SearchEngine.open(Settings.from_env().with_overrides(index_dir=index_dir))
    mrr = {}
    for name, embedder in (("onnx-fp32", onnx), ("torch-fp32", torch)):
        engine = SearchEngine(base.index, embedder)
        mrr[name] = evaluate(engine, judged, mode="dense").overall.mrr_at_10
    print(f"{'encoder':<14}{'query p50 ms':>14}{'MRR@10':>9}")
    for name in ("onnx-fp32", "torch-fp32"):
        print(f"{name:<14}{latency[name]:>14.2f}{mrr[name]:>9.4f}")
    print(
        f"cosine onnx-fp32 vs torch-fp32 over {len(texts)} queries: min {cosines.min():.6f}, mean {cosines.mean():.6f}"
    )
    return {
        "case": "query encoders", "queries": len(texts), "onnx_p50_ms": round(latency["onnx-fp32"], 2),
        "torch_p50_ms": round(latency["torch-fp32"], 2), "cosine_min": round(float(np.min(cosines)), 6),
        "cosine_mean": round(float(np.mean(cosines)), 6), "mrr10_onnx": mrr["onnx-fp32"], "mrr10_torch": mrr["torch-fp32"],
    }  # fmt: skip


if __name__ == "__main__":
    main()
