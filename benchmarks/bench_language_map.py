"""What the language map costs (index/storage/rows.py, ``LanguageMeans``): off, centring and LEACE, side by side.

- build: fitting the map on N raw vectors (LEACE: one N x d covariance and an eigendecomposition) and applying
  it to every row (what the FAISS index is filled with);
- query: an exact filtered scan (``FaissIndex.search`` with ``allowed``: up to EXACT_FILTER_MAX allowed rows,
  or any number on an HNSW index) reads the allowed rows' raw vectors and applies the map to each
  (``centred_lookup``); the unfiltered FAISS search never applies it;
- per-language candidates (issue 17, item 2): one filtered search per language, per query.

Vectors are synthetic (unit vectors with a per-language offset, 12 languages): the cost does not depend on
what they say. Appends JSON lines to benchmarks/results/language_map.jsonl.

    python benchmarks/bench_language_map.py [--vectors 100000] [--queries 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from common import append_results

from index.storage.rows import LanguageMeans, VectorRows, centred_lookup
from index.vectors import create_vector_index, parse_spec

LANGS = ("ar", "de", "en", "es", "fa", "fr", "he", "hi", "ja", "ru", "tr", "zh")


def _median_ms(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON lines file [benchmarks/results/language_map.jsonl]"
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    n, d = args.vectors, args.dim
    langs = np.array(LANGS)[rng.integers(0, len(LANGS), n)]
    offsets = {lang: rng.standard_normal(d).astype(np.float32) * 0.5 for lang in LANGS}
    raw = rng.standard_normal((n, d)).astype(np.float32) / np.sqrt(d) * 4 + np.stack([offsets[x] for x in langs])
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    rows = VectorRows(np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64), langs, raw)
    queries = raw[rng.choice(n, args.queries, replace=False)]
    maps, lookups, indexes, out = {}, {}, {}, {}
    for method in ("off", "centring", "leace"):
        fit_ms = _median_ms(lambda m=method: LanguageMeans.fit(raw, langs.tolist(), m), 3)
        means = maps[method] = LanguageMeans.fit(raw, langs.tolist(), method)
        apply_ms = _median_ms(lambda m=means: m.apply(raw, langs), 3)
        lookups[method] = centred_lookup(rows, means)
        index = indexes[method] = create_vector_index(parse_spec("Flat", n, d, 0), d)
        index.add(rows.ids, means.apply(raw, langs))
        index.lookup = lookups[method]
        out[method] = {"method": means.method, "vectors": n, "fit_ms": round(fit_ms, 1),
                       "apply_all_ms": round(apply_ms, 1)}  # fmt: skip
    # per query, each map in turn (the machine's load drifts; interleaving keeps the comparison fair)
    by_lang = [np.flatnonzero(langs == lang) for lang in LANGS]
    allowed_sets = {size: np.sort(rng.choice(n, min(size, n), replace=False)) for size in (1_000, 20_000, n)}
    times: dict[tuple[str, str], list[float]] = {}
    for q in queries:
        for method in maps:
            index, lookup = indexes[method], lookups[method]
            times.setdefault((method, "unfiltered"), []).append(
                _median_ms(lambda i=index, q=q: i.search(q[None], 10), 1)
            )
            for size, ids in allowed_sets.items():
                # the exact filtered scan of ``size`` rows: what FaissIndex.search does for them
                run = lambda f=lookup, ids=ids, q=q: f(ids) @ q  # noqa: E731
                times.setdefault((method, f"scan_{size}"), []).append(_median_ms(run, 1))
            # issue 17 item 2, candidates from every language: one filtered search per language (an exact scan
            # of that language's ~N/12 rows each), k=10 each
            run = lambda i=index, q=q: [i.search(q[None], 10, allowed=a) for a in by_lang]  # noqa: E731
            times.setdefault((method, "per_language_candidates"), []).append(_median_ms(run, 1))
    for (method, what), values in times.items():
        out[method][f"{what}_p50_ms"] = round(statistics.median(values), 2)
    for row in out.values():
        print(row)
    append_results(
        "language_map", list(out.values()), settings={"vectors": n, "queries": args.queries, "dim": d}, out=args.out
    )
    return list(out.values())


if __name__ == "__main__":
    main()
