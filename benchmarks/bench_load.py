"""Load on a live server: concurrent clients querying while a rebuild swaps the index underneath.

Starts ``semsearch serve``'s app (uvicorn, 127.0.0.1) over a copy of an index, runs N queries from C
client threads, and halfway through rebuilds the index with one article changed, which the server picks
up by itself. Reports errors, latency percentiles, throughput, and which index versions answered (every
answer must name a complete version). Appends JSON lines to benchmarks/results/load.jsonl.

    python benchmarks/bench_load.py --index ~/.cache/semsearch/index --sources seeds/ [--queries 1000 --clients 16]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

from common import append_results

from index import Settings, build_index, open_index
from index.storage.versions import current_version
from search import SearchEngine
from search.api import create_app
from search.serving import ServedIndex

# Each request's text is made unique (a number appended), so the engine's query-vector LRU never answers
# one: the model calls are what this measures.
QUERIES = ["Russia Iran treaty", "earthquake tsunami Palu", "Macedonia referendum name", "North Korea nuclear",
           "Syria foreign forces", "Catalonia independence", "HIV China", "web inventor", "Bolivia sea access"]  # fmt: skip


def run(
    index_dir: Path, sources: list[Path], queries: int, clients: int, embedder: object = None, batching: bool = True
) -> dict:
    """Serve ``index_dir`` and load it; returns the figures."""
    import httpx
    import uvicorn

    settings = Settings.from_env().with_overrides(index_dir=index_dir)
    engine = (
        SearchEngine(open_index(index_dir), embedder, batching=batching)
        if embedder
        else SearchEngine.open(settings, own_encoder=True, batching=batching)
    )  # as serve: the index's own encoder, so the rebuild reuses its vectors
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(ServedIndex(engine, index_dir)), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    errors: list[str] = []
    versions: dict[str, int] = {}
    done = threading.Semaphore(0)
    counter = iter(range(queries))
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                t0 = time.perf_counter()
                response = http.get("/query", params={"q": f"{QUERIES[n % len(QUERIES)]} {n}", "k": 5})
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    if response.status_code != 200:
                        errors.append(f"{response.status_code}: {response.text[:200]}")
                    else:
                        latencies.append(ms)
                        v = response.json()["index_version"]
                        versions[v] = versions.get(v, 0) + 1
                    if len(latencies) + len(errors) == queries // 2:
                        done.release()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    done.acquire()  # halfway: rebuild with one article changed, while the clients go on
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "sources"
        for source in sources:
            shutil.copytree(source, copy / source.name) if source.is_dir() else shutil.copy(source, copy)
        changed = next(p for p in sorted(copy.rglob("*.txt")))
        changed.write_text(changed.read_text(encoding="utf-8") + "\n\nAn added closing sentence.", encoding="utf-8")
        build_index([copy / s.name for s in sources], settings, embedder=engine.embedder)
    rebuilt = current_version(index_dir).name
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    server.should_exit = True
    thread.join(10)
    complete = {v.name for v in index_dir.iterdir() if v.name.startswith("v-")}
    return {
        "batching": batching, "queries": queries, "clients": clients, "errors": len(errors), "error_samples": errors[:3],
        "p50_ms": statistics.median(latencies), "p99_ms": sorted(latencies)[int(0.99 * (len(latencies) - 1))],
        "qps": len(latencies) / seconds, "versions": versions, "new_version_answered": versions.get(rebuilt, 0),
        "answered_by_unpublished_version": sum(n for v, n in versions.items() if v not in complete),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index of --sources (copied, not changed)")
    parser.add_argument("--sources", type=Path, nargs="+", required=True)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args(argv)
    rows = []
    for batching in (False, True):  # side by side in one run: one model call per query, then micro-batching
        with tempfile.TemporaryDirectory() as tmp:
            index_dir = Path(tmp) / "index"
            shutil.copytree(args.index, index_dir, symlinks=True)
            row = run(index_dir, args.sources, args.queries, args.clients, batching=batching)
        print(f"{'micro-batched' if batching else 'one call per query'}: {row['queries']} queries, {row['clients']} "
              f"clients, {row['errors']} errors, p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
              f"{row['qps']:.1f} queries/s; answered by {row['versions']}")  # fmt: skip
        rows.append(row)
    append_results("load", rows, settings={"index": str(args.index), "queries": args.queries, "clients": args.clients})
    return {"plain": rows[0], "batched": rows[1]}


if __name__ == "__main__":
    main()
