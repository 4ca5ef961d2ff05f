"""Query latency at a 100k-vector index: library, HTTP /query and CLI batch, against bare query encoding.

The index holds ~100k synthetic passage vectors (benchmarks/synthetic.py: a mixture fitted to real
embeddings) under synthetic articles, so it can be built in a minute; the queries are real headlines
encoded by the real model. Latency does not depend on what the passages say, only on the index and
the encoder. Appends JSON lines to benchmarks/results/query.jsonl.

    python benchmarks/bench_query.py
    python benchmarks/bench_query.py --vectors 20000 --queries 30

The HTTP figures come from `semsearch serve` running in its own process, queried over 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import SEEDS, append_results
from synthetic import MixtureEmbedder, fit_mixture, synthetic_corpus

from index import Settings, build_index, iter_articles, load_embedder, open_index
from search import SearchEngine


def percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, int(0.99 * len(values)))]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--fit-from", type=Path, default=Settings.from_env().index_dir)
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file [benchmarks/results/query.jsonl]")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    real = load_embedder(None, settings.models_dir)
    work = Path(tempfile.mkdtemp(prefix="semsearch-query-bench-"))
    synthetic_corpus(work / "corpus.jsonl", args.vectors)
    index_settings = settings.with_overrides(index_dir=work / "index", language_neutral=False)
    report = build_index(
        [work / "corpus.jsonl"], index_settings, embedder=MixtureEmbedder(real, fit_mixture(args.fit_from))
    )
    titles = [a.title for a in iter_articles([SEEDS]) if getattr(a, "title", "")]
    queries = (titles * (args.queries // len(titles) + 1))[: args.queries]

    bare = []
    for q in queries:
        t = time.perf_counter()
        real.encode_queries([q])
        bare.append((time.perf_counter() - t) * 1000)
    engine = SearchEngine(open_index(index_settings.index_dir), real)
    library = []
    for q in queries:
        t = time.perf_counter()
        engine.search(q, 10)
        library.append((time.perf_counter() - t) * 1000)
    http = _http_latencies(index_settings.index_dir, queries)
    cli = _cli_latencies(index_settings.index_dir, queries, work)

    m = report.manifest
    result = {
        "vectors": m.passages + m.headlines,
        "index_spec": m.index_spec,
        "index_params": m.index_params,
        "recall_heldout": m.recall.recall_heldout,
        "queries": len(queries),
    }
    print(f"index: {result['vectors']} vectors, {m.index_spec} {m.index_params}, recall@10 {m.recall.recall_heldout}")
    print(f"{'path':<34}{'p50 ms':>9}{'p99 ms':>9}{'p50 / bare':>12}")
    bare_p50 = percentiles(bare)[0]
    for name, values in (
        ("bare query encode", bare),
        ("library search (k=10)", library),
        ("HTTP GET /query", http),
        ("CLI --batch (per query)", cli),
    ):
        p50, p99 = percentiles(values)
        key = name.split()[0].lower()
        result[f"{key}_p50_ms"], result[f"{key}_p99_ms"] = round(p50, 2), round(p99, 2)
        result[f"{key}_p50_over_bare"] = round(p50 / bare_p50, 2)
        print(f"{name:<34}{p50:>9.2f}{p99:>9.2f}{p50 / bare_p50:>12.2f}")
    setup = {"vectors": args.vectors, "queries": args.queries, "k": 10, "fit_from": str(args.fit_from)}
    append_results("query", [result], model=real, settings=setup, out=args.out)
    return result


def _http_latencies(index_dir: Path, queries: list[str]) -> list[float]:
    """Sequential GET /query against `semsearch serve` in its own process, as a client would see it."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).with_name("semsearch")
    server = subprocess.Popen(
        [str(cli), "serve", "--index", str(index_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    client.get("/health").raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("semsearch serve did not start") from None
                    time.sleep(0.2)
            client.get("/query", params={"q": "warm up"})
            for q in queries:
                t = time.perf_counter()
                client.get("/query", params={"q": q, "k": 10}).raise_for_status()
                out.append((time.perf_counter() - t) * 1000)
    finally:
        server.terminate()
        server.wait(10)
    return out


def _cli_latencies(index_dir: Path, queries: list[str], work: Path) -> list[float]:
    """Per-query time inside one `semsearch query --batch` run (its took_ms), model load excluded."""
    batch = work / "queries.txt"
    batch.write_text("\n".join(queries), encoding="utf-8")
    cli = Path(sys.executable).with_name("semsearch")
    out = subprocess.run(
        [str(cli), "query", "--batch", str(batch), "--json", "--index", str(index_dir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [json.loads(line)["took_ms"] for line in out.stdout.splitlines()]


if __name__ == "__main__":
    main()
