"""Encoding throughput, side by side in one run: the fp32 encoder (sentence-transformers on torch) against
the fast one (ONNX int8), on the same NTREX passages (a slice of documents in all 14 languages).

For each encoder, alternating, ``--repeat`` rounds of:
- bare encoding of exactly the texts a build embeds (passages with title context, and headlines), shortest
  first in token-budget batches, as the build does — nothing else;
- a cold build of the same articles (read, clean, detect, chunk, encode, index, stories, lexical, store;
  embedding cache off, the model already loaded);
then a rebuild with nothing changed, and query latency (p50/p90) for one client and for 8 concurrent clients
(micro-batched, as the server runs). Medians and ratios are reported; one JSON line per run is appended to
benchmarks/results/encode.jsonl.

    python benchmarks/bench_encode.py                   # 6 NTREX documents x 14 languages, 3 rounds
    python benchmarks/bench_encode.py --documents 12 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import append_results

from index import Article, Embedder, Settings, build_index, chunk_articles, iter_articles, load_embedder, open_index
from index.embedding import encode_with_sentences
from index.embedding.batches import batch_size
from index.settings import ENCODE_TOKEN_BUDGET, ONNX_ENCODE_TOKEN_BUDGET
from index.storage.sentences import body_sentence_spans
from search import SearchEngine

ENCODERS = ("torch-fp32", "onnx-int8")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=6, help="NTREX documents (each in 14 languages)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=int, default=48)
    args = parser.parse_args(argv)
    import ntrex

    rows = ntrex.articles()
    docs = list(dict.fromkeys(r["id"].split("/")[0] for r in rows))
    chosen = set(docs[: args.documents])
    work = Path(tempfile.mkdtemp(prefix="semsearch-encode-"))
    corpus = work / "ntrex.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for r in rows:
            if r["id"].split("/")[0] in chosen:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    queries = [r["title"] for r in rows if r["id"].split("/")[0] not in chosen][:: max(1, len(rows) // 400)]
    queries = queries[: args.queries]

    base = Settings.from_env().with_overrides(cache_bytes=0)
    embedders = {name: load_embedder(None, base.models_dir, name) for name in ENCODERS}
    articles = [a for a in iter_articles([corpus]) if isinstance(a, Article)]
    passages, texts = chunk_articles(articles, embedders["torch-fp32"], base)
    spans = [body_sentence_spans(t, p.text) for t, p in zip(texts, passages)]
    texts += [a.title for a in articles if a.title.strip()]  # headlines are encoded too
    spans += [[] for _ in range(len(texts) - len(spans))]

    bare: dict[str, list[float]] = {n: [] for n in ENCODERS}
    cold: dict[str, list[float]] = {n: [] for n in ENCODERS}
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(args.repeat):
        for name, embedder in embedders.items():
            started = time.perf_counter()
            vectors[name] = _bare(embedder, texts, spans)
            bare[name].append(time.perf_counter() - started)
            report = build_index([corpus], base.with_overrides(index_dir=work / f"{name}-{round_}"), embedder=embedder)
            cold[name].append(report.seconds)
            print(f"round {round_ + 1} {name}: bare {bare[name][-1]:.1f} s, build {report.seconds:.1f} s", flush=True)
    rebuild = {
        name: build_index([corpus], base.with_overrides(index_dir=work / f"{name}-0"), embedder=embedder)
        for name, embedder in embedders.items()
    }
    latency = {name: _latency(work / f"{name}-0", embedder, queries) for name, embedder in embedders.items()}
    n = len(texts)
    result: dict = {
        "benchmark": "encode", "articles": len(articles), "passages": len(passages), "vectors": n,
        "mean_tokens": round(float(np.mean(embedders["torch-fp32"].count_tokens(texts))), 1),
        "repeat": args.repeat, "token_budget": ENCODE_TOKEN_BUDGET, "onnx_token_budget": ONNX_ENCODE_TOKEN_BUDGET,
        "cosine_int8_fp32_mean": round(float((vectors["onnx-int8"] * vectors["torch-fp32"]).sum(1).mean()), 5),
        "cosine_int8_fp32_min": round(float((vectors["onnx-int8"] * vectors["torch-fp32"]).sum(1).min()), 5),
    }  # fmt: skip
    for name in ENCODERS:
        b, c = statistics.median(bare[name]), statistics.median(cold[name])
        result[name] = {
            "bare_vectors_per_second": round(n / b, 2), "build_vectors_per_second": round(n / c, 2),
            "build_over_bare": round(b / c, 3), "cold_build_seconds": round(c, 2),
            "rebuild_seconds": round(rebuild[name].seconds, 2),
            # a rebuild that changes nothing publishes nothing: the manifest is still the cold build's
            "rebuild_vectors_encoded": rebuild[name].manifest.build.vectors_encoded if rebuild[name].published else 0,
            "rebuild_over_cold": round(rebuild[name].seconds / c, 4), **latency[name],
        }  # fmt: skip
    result["fast_over_fp32_bare"] = round(
        statistics.median(bare["torch-fp32"]) / statistics.median(bare["onnx-int8"]), 3
    )
    result["fast_over_fp32_build"] = round(
        statistics.median(cold["torch-fp32"]) / statistics.median(cold["onnx-int8"]), 3
    )
    print(json.dumps(result, indent=2))
    append_results(
        "encode",
        [result],
        model=embedders["torch-fp32"].name,
        settings={"documents": args.documents, "repeat": args.repeat, "queries": args.queries},
    )
    return result


def _bare(embedder: Embedder, texts: list[str], spans: list[list[tuple[int, int]]]) -> np.ndarray:
    """Encode exactly as the build does (shortest first, token-budget batches), nothing else."""
    lengths = embedder.count_tokens(texts)
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(texts), embedder.dimension), np.float32)
    for start in range(0, len(order), 256):
        part = order[start : start + 256]
        batch = batch_size(len(part), lengths[part[-1]], embedder.prompt_tokens)
        out[part], _ = encode_with_sentences(embedder, [texts[i] for i in part], [spans[i] for i in part], batch)
    return out


def _latency(index_dir: Path, embedder: Embedder, queries: list[str]) -> dict[str, float]:
    """p50/p90 of one client querying alone, and of 8 concurrent clients (micro-batched as served)."""
    engine = SearchEngine(open_index(index_dir), embedder)
    engine.search(queries[0])  # warm
    single = []
    for q in queries:
        started = time.perf_counter()
        engine.search(q)
        single.append((time.perf_counter() - started) * 1000)
    engine = SearchEngine(open_index(index_dir), embedder, batching=True)  # micro-batched, as served
    concurrent: list[float] = []
    lock = threading.Lock()

    def client(share: list[str]) -> None:
        for q in share:
            started = time.perf_counter()
            engine.search(q)
            with lock:
                concurrent.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client, args=(queries[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles
    return {
        "query_p50_ms": round(statistics.median(single), 1), "query_p90_ms": round(q(single, n=10)[-1], 1),
        "query_8_clients_p50_ms": round(statistics.median(concurrent), 1),
        "query_8_clients_p90_ms": round(q(concurrent, n=10)[-1], 1),
    }  # fmt: skip


if __name__ == "__main__":
    main()
