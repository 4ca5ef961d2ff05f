"""Language bias: how often a query finds the other-language versions of its answer in a mixed pool.

The pool is built from NTREX-128 documents that are *not* in the demo corpus (held out from every
choice made on the seeds): each document's first paragraph (body segments 1-3) and second paragraph
(segments 4-6), in 12 languages, so every paragraph is there 12 times. The queries are the documents'
headlines in each language; the answer is the first paragraph.

- cross-language: share of (query, other-language version of its answer) pairs in the top 10.
- same-language MRR@10: rank of the answer in the query's own language, the answer's other-language
  versions left out of the ranking (they are neither right nor wrong for this figure).

Variants are scored on the same vectors: the bare model, and semsearch's language-neutral scoring
(``index.vectors.centring``) at several strengths. Appends JSON lines to benchmarks/results/language_neutral.jsonl.

    python benchmarks/bench_language_neutral.py [--docs 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ntrex
import numpy as np
from common import SEEDS, append_results

from index import Settings, load_embedder
from index.vectors.centring import STRENGTH, centre, language_means

LANGS = ("ar", "de", "en", "es", "fa", "fr", "he", "hi", "ja", "ru", "tr", "zh")
TOP = 10


def pool(
    folder: Path, docs: int, paragraphs: int = 2
) -> tuple[list[str], list[str], list[str], list[str], list[str], list[str]]:
    """(passage texts, passage langs, passage keys, query texts, query langs, query keys); key = document id,
    and "#2" for the distractor paragraph."""
    held_out = ntrex.demo_documents(SEEDS)
    segments = ntrex.segments(folder, LANGS)
    chosen = [d for d in segments if d not in held_out and len(segments[d]["en"]) >= 7][:docs]
    texts, langs, keys, queries, query_langs, query_keys = [], [], [], [], [], []
    for doc in chosen:
        for lang in LANGS:
            seg = segments[doc][lang]
            joiner = "" if lang in ("zh", "ja") else " "
            for key, part in ((doc, seg[1:4]), (doc + "#2", seg[4:7]))[:paragraphs]:
                texts.append(joiner.join(part))
                langs.append(lang)
                keys.append(key)
            queries.append(seg[0])
            query_langs.append(lang)
            query_keys.append(doc)
    return texts, langs, keys, queries, query_langs, query_keys


def score(
    scores: np.ndarray, langs: list[str], keys: list[str], query_langs: list[str], query_keys: list[str]
) -> dict[str, float]:
    """Cross-language top-10 share and same-language MRR@10 for a (queries x passages) score matrix."""
    keys_a, langs_a = np.array(keys), np.array(langs)
    cross_hits = cross_total = 0
    pair_hits: dict[str, list[int]] = {}
    reciprocal = []
    for i, (qlang, qkey) in enumerate(zip(query_langs, query_keys)):
        order = np.argsort(-scores[i], kind="stable")
        top = set(order[:TOP].tolist())
        answer = np.flatnonzero(keys_a == qkey)
        for j in answer:
            if langs_a[j] != qlang:
                cross_total += 1
                cross_hits += int(j in top)
                pair_hits.setdefault(f"{qlang}>{langs_a[j]}", []).append(int(j in top))
        # same language: the answer's other-language versions leave the ranking
        ranking = [j for j in order if not (keys_a[j] == qkey and langs_a[j] != qlang)][:TOP]
        rank = next((r for r, j in enumerate(ranking, 1) if keys_a[j] == qkey), None)
        reciprocal.append(1.0 / rank if rank else 0.0)
    pairs = {pair: float(np.mean(hits)) for pair, hits in sorted(pair_hits.items())}
    return {"cross_top10": cross_hits / max(1, cross_total), "same_mrr10": float(np.mean(reciprocal)), "pairs": pairs}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200, help="held-out NTREX documents in the pool (at most)")
    parser.add_argument("--paragraphs", type=int, choices=(1, 2), default=1,
                        help="1: each document's first paragraph; 2: also its second, as a close distractor")  # fmt: skip
    parser.add_argument("--ntrex-dir", type=Path, default=ntrex.DEFAULT_DIR)
    parser.add_argument("--cache", type=Path, default=None, help="npz file to keep the vectors in between runs")
    args = parser.parse_args(argv)
    texts, langs, keys, queries, query_langs, query_keys = pool(args.ntrex_dir, args.docs, args.paragraphs)
    documents = len(set(query_keys))
    model = None  # vectors read back from --cache: no model ran
    if args.cache and args.cache.exists():
        with np.load(args.cache) as data:
            passages, query_vectors = data["passages"], data["queries"]
    else:
        embedder = model = load_embedder(None, Settings.from_env().models_dir)
        passages = embedder.encode_passages(texts, 32)
        query_vectors = embedder.encode_queries(queries)
        if args.cache:
            np.savez(args.cache, passages=passages, queries=query_vectors)
    means = language_means(passages, langs)
    variants = {"bare model": passages}
    for strength in sorted({STRENGTH, 0.5, 1.0}):
        label = f"centred {strength:g}" + (" (default)" if strength == STRENGTH else "")
        variants[label] = centre(passages, langs, means, strength)
    rows = []
    print(f"pool: {len(texts)} paragraphs ({documents} documents x {args.paragraphs} x {len(LANGS)} languages), "
          f"{len(queries)} queries")  # fmt: skip
    print(f"{'variant':<24}{'cross-language top-10':>24}{'x bare':>8}{'same-language MRR@10':>24}")
    base = None
    for label, vectors in variants.items():
        figures = score(query_vectors @ vectors.T, langs, keys, query_langs, query_keys)
        base = base or figures
        ratio = figures["cross_top10"] / max(base["cross_top10"], 1e-9)
        print(f"{label:<24}{figures['cross_top10']:>24.3f}{ratio:>8.2f}{figures['same_mrr10']:>24.3f}")
        rows.append({"variant": label, **figures, "ratio": ratio})
    append_results(
        "language_neutral",
        rows,
        model=model,
        settings={"docs": documents, "paragraphs": args.paragraphs, "cache": str(args.cache)},
    )
    worst = [*sorted(base["pairs"], key=lambda p: base["pairs"][p])[:5], "ar>en", "en>ar"] if base else []
    print("most biased pairs (query>version), share in the top 10: " + ", ".join(worst))
    for row in rows:
        shown = "  ".join(f"{row['pairs'][p]:.2f}" for p in worst)
        print(f"  {row['variant']:<22}{shown}")
    return rows


if __name__ == "__main__":
    main()
