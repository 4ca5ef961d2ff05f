"""Cross-lingual retrieval quality: the reader's problem (an answer that exists in one language only).

Evaluation pool: NTREX-128 documents that are *not* in the demo corpus, each document's first paragraph
(body segments 1-3) in every language of ``--langs``; queries are the documents' headlines in each
language (as bench_language_neutral.py). Fitting data: the demo corpus's NTREX documents (never in the
pool), every segment in every language, as sentences (parallel: line-aligned) and as paragraphs of three
segments; estimators marked "(pool)" are fitted on the pool's own passages and languages, as a build
fits on the index it builds (no answers involved).

Measures, per (query language Q, answer language L), each a (queries x passages) score matrix:
- alone: R@1, R@10, MRR@10 of the L version amid the pool of all languages with the answer's other
  versions removed (Q = L is the same-language measure); mean over Q != L pairs, and the worst pair.
- per-language index: MRR@10 of the L version among the L passages only (one language per index).
- mixed pool: share of (query, L version) in the top 10 of the whole pool; the English version in an
  Arabic headline's top 10.

Vectors are encoded once and cached as .npy files (``--cache``), so variants cost numpy only. A variant
with a second pass (pseudo-relevance feedback) is re-run for each measure with that measure's pool, so its
feedback never sees the versions the measure removes.
Appends JSON lines to benchmarks/results/crosslingual.jsonl.

    python benchmarks/bench_crosslingual.py [--docs 200] [--langs ar,de,en,...]
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from pathlib import Path

import ntrex
import numpy as np
from common import ROOT, append_results

from index import Settings, load_embedder

LANGS = ("ar", "de", "en", "es", "fa", "fr", "he", "hi", "ja", "ru", "tr", "zh")
TOP = 10
CACHE = ROOT / "benchmarks" / "results" / "cache" / "crosslingual"


def _join(lang: str, parts: list[str]) -> str:
    return ("" if lang in ("zh", "ja") else " ").join(parts)


class Data:
    """Texts of the evaluation pool and of the fitting set, with their languages and keys."""

    def __init__(self, folder: Path, docs: int, langs: tuple[str, ...], fit_docs: int | None = None) -> None:
        segments = ntrex.segments(folder, langs)
        demo = ntrex.demo_documents(ROOT / "seeds")
        held_out = [d for d in segments if d not in demo and len(segments[d]["en"]) >= 4][:docs]
        self.docs = held_out
        self.langs = langs
        # pool: passage i*len(langs)+k is document i in language k; the queries are laid out the same way
        self.passages = [_join(lang, segments[d][lang][1:4]) for d in held_out for lang in langs]
        self.queries = [segments[d][lang][0] for d in held_out for lang in langs]
        self.fit_sentences, self.fit_sentence_langs, self.fit_sentence_groups = [], [], []
        self.fit_paragraphs, self.fit_paragraph_langs, self.fit_paragraph_groups = [], [], []
        self.fit_queries, self.fit_query_langs, self.fit_query_groups = [], [], []
        for d in sorted(d for d in segments if d in demo)[:fit_docs]:
            n = len(segments[d]["en"])
            for s in range(n):
                for lang in langs:
                    self.fit_sentences.append(segments[d][lang][s])
                    self.fit_sentence_langs.append(lang)
                    self.fit_sentence_groups.append(f"{d}:{s}")
            for start in range(1, n, 3):
                for lang in langs:
                    self.fit_paragraphs.append(_join(lang, segments[d][lang][start : start + 3]))
                    self.fit_paragraph_langs.append(lang)
                    self.fit_paragraph_groups.append(f"{d}:{start}")
            for lang in langs:  # the headline asks for the first paragraph
                self.fit_queries.append(segments[d][lang][0])
                self.fit_query_langs.append(lang)
                self.fit_query_groups.append(f"{d}:1")


def cached(name: str, texts: list[str], encode: Callable[[list[str]], np.ndarray], folder: Path) -> np.ndarray:
    """``encode(texts)``, kept in ``folder/<name>-<hash of the texts>.npy``."""
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
    path = folder / f"{name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.asarray(encode(texts), dtype=np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


class Vectors:
    """The encoded pool and fitting set."""

    def __init__(self, data: Data, folder: Path) -> None:
        embedder = None

        def model():  # loaded only when something is not cached
            nonlocal embedder
            if embedder is None:
                embedder = load_embedder(None, Settings.from_env().models_dir)
            return embedder

        self.passages = cached("pool-passages", data.passages, lambda t: model().encode_passages(t, 32), folder)
        self.queries = cached("pool-queries", data.queries, lambda t: model().encode_queries(t), folder)
        self.fit_sentences = cached(
            "fit-sentences", data.fit_sentences, lambda t: model().encode_passages(t, 64), folder
        )
        self.fit_paragraphs = cached(
            "fit-paragraphs", data.fit_paragraphs, lambda t: model().encode_passages(t, 32), folder
        )
        self.fit_queries = cached("fit-queries", data.fit_queries, lambda t: model().encode_queries(t), folder)


# A variant: hidden passages (a boolean queries x passages mask, or None) -> score matrix. A variant whose
# second pass depends on the first (feedback) must not see what the measure removes from the pool.
Scorer = Callable[[np.ndarray | None], np.ndarray]


def _static(scores: np.ndarray) -> Scorer:
    return lambda hidden: scores


def ranks(scorer: Scorer, n_langs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every query (document d, language q) and answer language L, the rank of (d, L): alone (amid the
    whole pool less d's other versions), in L's own index, and in the whole pool; each (docs, q, L)."""
    full = scorer(None)
    n = full.shape[0] // n_langs
    same_doc = np.kron(np.eye(n, dtype=bool), np.ones((n_langs, n_langs), dtype=bool))
    passage_lang = np.tile(np.arange(n_langs), n)
    alone = np.empty((n, n_langs, n_langs), np.int64)
    single = np.empty_like(alone)
    mixed = np.empty_like(alone)
    s4_full = full.reshape(n, n_langs, n, n_langs)
    own_full = s4_full[np.arange(n), :, np.arange(n), :]
    for lang in range(n_langs):
        s4 = scorer(same_doc & (passage_lang != lang)[None, :]).reshape(n, n_langs, n, n_langs)
        own = s4[np.arange(n), :, np.arange(n), :]  # (d, q, L): each query's scores of its own document's versions
        target = own[:, :, lang]  # (d, q)
        everywhere = (s4 > target[:, :, None, None]).sum(axis=(2, 3))
        alone[:, :, lang] = 1 + everywhere - (own > target[:, :, None]).sum(axis=2)
        s4 = scorer(np.broadcast_to((passage_lang != lang)[None, :], full.shape)).reshape(n, n_langs, n, n_langs)
        single[:, :, lang] = 1 + (s4[:, :, :, lang] > s4[np.arange(n), :, np.arange(n), lang][:, :, None]).sum(axis=2)
        mixed[:, :, lang] = 1 + (s4_full > own_full[:, :, lang][:, :, None, None]).sum(axis=(2, 3))
    return alone, single, mixed


def _mrr(rank: np.ndarray) -> np.ndarray:
    return np.where(rank <= TOP, 1.0 / rank, 0.0)


def figures(scorer: Scorer, langs: tuple[str, ...]) -> dict:
    """The measures of one variant (see the module docstring)."""
    alone, single, mixed = ranks(scorer, len(langs))
    off = ~np.eye(len(langs), dtype=bool)
    r10 = (alone <= TOP).mean(axis=0)
    pair = {f"{langs[q]}>{langs[a]}": float(r10[q, a]) for q in range(len(langs)) for a in range(len(langs)) if q != a}
    worst = min(pair, key=pair.__getitem__)
    same = np.diagonal(alone, axis1=1, axis2=2)
    en, ar = (langs.index("en"), langs.index("ar")) if {"en", "ar"} <= set(langs) else (0, 0)
    return {
        "alone_r1": float((alone <= 1).mean(axis=0)[off].mean()),
        "alone_r10": float(r10[off].mean()),
        "alone_mrr10": float(_mrr(alone).mean(axis=0)[off].mean()),
        "worst_pair": worst,
        "worst_r10": pair[worst],
        "same_r1": float((same <= 1).mean()),
        "same_mrr10": float(_mrr(same).mean()),
        "single_mrr10": float(_mrr(single).mean(axis=0)[off].mean()),
        "single_pairs": _mrr(single).mean(axis=0),
        "mixed_top10": float((mixed <= TOP).mean(axis=0)[off].mean()),
        "ar_q_en_top10": float((mixed[:, ar, en] <= TOP).mean()),
        "pairs_r10": pair,
    }


TODAY = "centred 0.25 (today)"


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _lang_stats(passages: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each language's mean vector and covariance (from the pool's passages, as a build would)."""
    means = np.stack([passages[labels == lang].mean(axis=0) for lang in names])
    covs = np.stack([np.cov(passages[labels == lang].T, bias=True) for lang in names])
    return means, covs


def z_scores(query: np.ndarray, passages: np.ndarray, labels: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Each score standardised by the query's score distribution over the passage's language:
    (q.p - q.mu_L) / sqrt(q' Sigma_L q), exact from the language's mean and covariance."""
    means, covs = _lang_stats(passages, labels, names)
    centre = query @ means.T  # (queries, languages)
    spread = np.sqrt(np.einsum("qd,lde,qe->ql", query, covs, query))
    col = np.searchsorted(np.array(names), labels) if list(names) == sorted(names) else None
    col = np.array([names.index(lang) for lang in labels]) if col is None else col
    return (query @ passages.T - centre[:, col]) / spread[:, col]


def language_rank_fusion(scores: np.ndarray, labels: np.ndarray, k: float = 60.0) -> np.ndarray:
    """Reciprocal rank within each passage language (1/(k + rank)); the cosine breaks ties."""
    fused = np.empty_like(scores)
    for lang in np.unique(labels):
        cols = np.flatnonzero(labels == lang)
        order = np.argsort(-scores[:, cols], axis=1)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(1, len(cols) + 1)[None, :].repeat(len(scores), 0), axis=1)
        fused[:, cols] = 1.0 / (k + rank) + 1e-6 * scores[:, cols]
    return fused


def rocchio(query: np.ndarray, passages: np.ndarray, scores: np.ndarray, top: int, weight: float,
            labels: np.ndarray | None = None, within: int | None = None) -> Scorer:  # fmt: skip
    """Second-pass scores with q' = q + weight * mean of the ``top`` best passages; with ``labels``, the
    best passage of each language (only among the first pass's ``within`` best when given), and no second
    pass where the first found one language only (as search/feedback.py)."""

    def scorer(hidden: np.ndarray | None) -> np.ndarray:
        first = scores if hidden is None else np.where(hidden, -np.inf, scores)
        if labels is None:
            best = np.argsort(-first, axis=1)[:, :top]
            return _unit(query + weight * passages[best].mean(axis=1)) @ passages.T
        if within is not None:  # languages absent from the first pass's top ``within`` give no feedback
            keep = min(within, first.shape[1])
            cut = -np.sort(-first, axis=1)[:, keep - 1 : keep]
            first = np.where(first >= cut, first, -np.inf)
        total, count = np.zeros_like(query), np.zeros((len(query), 1), np.float32)
        for lang in np.unique(labels):
            cols = np.flatnonzero(labels == lang)
            best = np.argmax(first[:, cols], axis=1)
            present = np.isfinite(first[np.arange(len(query)), cols[best]])[:, None]
            total += np.where(present, passages[cols[best]], 0.0)
            count += present
        moved = np.where(count >= 2, query + weight * total / np.maximum(count, 1), query)
        return _unit(moved) @ passages.T

    return scorer


def pair_calibration(vectors: Vectors, data: Data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fitted on the demo corpus's documents (parallel): for query language Q and passage language L, the
    mean and spread of a Q headline's scores over L paragraphs, and its score of the matching L paragraph."""
    names = list(data.langs)
    fq = np.array([names.index(x) for x in data.fit_query_langs])
    fp = np.array([names.index(x) for x in data.fit_paragraph_langs])
    scores = vectors.fit_queries @ vectors.fit_paragraphs.T
    match = np.array(data.fit_query_groups)[:, None] == np.array(data.fit_paragraph_groups)[None, :]
    n = len(names)
    mean, spread, hit = np.zeros((n, n)), np.ones((n, n)), np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            block = scores[np.ix_(fq == a, fp == b)]
            matched = match[np.ix_(fq == a, fp == b)]
            mean[a, b], spread[a, b], hit[a, b] = block[~matched].mean(), block[~matched].std(), block[matched].mean()
    return mean, spread, hit


def variants(vectors: Vectors, data: Data) -> dict[str, Scorer]:
    """Score matrices (queries x pool passages) of every variant tried, including the ones that lost."""
    from index.storage.rows import LanguageMeans
    from index.vectors.centring import centre, language_means
    from index.vectors.erasure import fit_leace, fit_parallel_projection

    q, p = vectors.queries, vectors.passages
    labels = np.array([lang for _ in data.docs for lang in data.langs])
    means = language_means(p, labels.tolist())
    out: dict[str, np.ndarray | Scorer] = {"bare model": q @ p.T}
    # what a build does (index/storage/rows.py): the map fitted on the pool's passages and languages, applied
    for method in ("centring", "leace"):
        product = LanguageMeans.fit(p, labels.tolist(), method)
        out[f"product: {product.method} {product.strength:g} (LanguageMeans.fit, asked {method})"] = (
            q @ product.apply(p, labels).T
        )
    for strength in (0.25, 0.5, 1.0):
        out[TODAY if strength == 0.25 else f"centred {strength:g}"] = q @ centre(p, labels.tolist(), means, strength).T
    # per-language calibration of the query's scores (every language gets its share of the candidates)
    z = z_scores(q, p, labels, data.langs)
    out["z-scores per language (pool stats)"] = z
    cos = q @ p.T
    for alpha in (0.05, 0.1, 0.2):
        out[f"cosine + {alpha:g} x z-score"] = cos + alpha * 0.05 * z  # z is ~20x the cosine's spread
    out["rank fusion across languages"] = language_rank_fusion(cos, labels)
    # per (query language, passage language) calibration fitted on the demo corpus's parallel documents;
    # the query's language is known here (a product would detect it)
    mean, spread, hit = pair_calibration(vectors, data)
    qi = np.array([data.langs.index(x) for x in labels])  # queries are laid out as the passages
    out["(Q,L) z-scores (demo fit)"] = (cos - mean[qi][:, qi]) / spread[qi][:, qi]
    out["(Q,L) matched-score offset (demo fit)"] = cos - (hit[qi][:, qi] - np.diag(hit)[qi][:, None])
    # erasure: LEACE fitted on the pool's passages (as a build would) and on the demo corpus's paragraphs
    fit_langs = np.array(data.fit_paragraph_langs)
    leace_pool = fit_leace(p, labels.tolist())
    leace_demo = fit_leace(vectors.fit_paragraphs, fit_langs.tolist())
    for name, eraser in (("pool", leace_pool), ("demo", leace_demo)):
        for strength in (0.5, 1.0):
            e = eraser.at(strength)
            out[f"LEACE ({name}) {strength:g}, passages"] = q @ e.apply(p).T
            out[f"LEACE ({name}) {strength:g}, both"] = e.apply(q) @ e.apply(p).T
    # on top of today's centring (what a build would add to the vectors it already makes)
    centred_p = centre(p, labels.tolist(), means, 0.25)
    leace_centred = fit_leace(centred_p, labels.tolist()).at(0.5)
    out["centred 0.25 + LEACE (pool) 0.5, passages"] = q @ leace_centred.apply(centred_p).T
    for rank in (2, 8, 16, 32):
        proj = fit_parallel_projection(vectors.fit_sentences, data.fit_sentence_groups, rank)
        out[f"parallel projection rank {rank}"] = proj.apply(q) @ proj.apply(p).T
    # pseudo-relevance feedback (Rocchio) on the bare scores and on the centred ones
    today_p = centre(p, labels.tolist(), means, 0.25)
    for top, weight in ((3, 0.5), (5, 1.0)):
        out[f"Rocchio top {top} w {weight:g}"] = rocchio(q, p, cos, top, weight)
    today_s = q @ today_p.T
    leace_p = leace_pool.at(0.5).apply(p)
    for weight in (0.5, 1.0):
        out[f"Rocchio 1/language w {weight:g}"] = rocchio(q, p, cos, 1, weight, labels)
        out[f"centred 0.25 + Rocchio 1/language w {weight:g}"] = rocchio(q, today_p, today_s, 1, weight, labels)
    out["LEACE (pool) 0.5 passages + Rocchio 1/lang w 0.5"] = rocchio(q, leace_p, q @ leace_p.T, 1, 0.5, labels)
    # the product's variant: feedback from the languages found among the first pass's N best only
    for within in (20, 50):
        out[f"centred 0.25 + Rocchio 1/lang w 0.5 in top {within}"] = rocchio(
            q, today_p, today_s, 1, 0.5, labels, within
        )
    return {label: v if callable(v) else _static(v) for label, v in out.items()}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200, help="held-out NTREX documents in the pool (at most)")
    parser.add_argument("--langs", default=",".join(LANGS), help="comma-separated languages of the pool")
    parser.add_argument("--ntrex-dir", type=Path, default=ntrex.DEFAULT_DIR)
    parser.add_argument("--fit-docs", type=int, default=None, help="demo corpus documents to fit on (default all)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="folder of cached vectors (.npy)")
    args = parser.parse_args(argv)
    langs = tuple(args.langs.split(","))
    data = Data(args.ntrex_dir, args.docs, langs, args.fit_docs)
    vectors = Vectors(data, args.cache)
    print(f"pool: {len(data.passages)} passages ({len(data.docs)} documents x {len(langs)} languages), "
          f"{len(data.queries)} queries; fitting (demo corpus documents): {len(data.fit_sentences)} sentences, "
          f"{len(data.fit_paragraphs)} paragraphs")  # fmt: skip
    computed = {label: figures(scores, langs) for label, scores in variants(vectors, data).items()}
    off = ~np.eye(len(langs), dtype=bool)
    base = computed[TODAY]["single_pairs"]
    header = ("variant", "alone R@1", "R@10", "MRR@10", "worst pair R@10", "same MRR@10", "1-lang MRR@10",
              "pairs <", "mixed top10", "ar>en top10")  # fmt: skip
    print(f"{header[0]:<40}" + "".join(f"{h:>{len(h) + 2}}" for h in header[1:]))
    rows = []
    for label, row in computed.items():
        single = row.pop("single_pairs")
        # pairs of one-language indexes where this variant does worse than today's scoring
        row["single_pairs_lower"] = int((single[off] < base[off] - 0.005).sum())
        row["single_worst_change"] = float((single - base)[off].min())
        cells = (f"{row['alone_r1']:.3f}", f"{row['alone_r10']:.3f}", f"{row['alone_mrr10']:.3f}",
                 f"{row['worst_r10']:.2f} {row['worst_pair']}", f"{row['same_mrr10']:.3f}",
                 f"{row['single_mrr10']:.3f}", f"{row['single_pairs_lower']}", f"{row['mixed_top10']:.3f}",
                 f"{row['ar_q_en_top10']:.2f}")  # fmt: skip
        print(f"{label:<40}" + "".join(f"{c:>{len(h) + 2}}" for c, h in zip(cells, header[1:])))
        rows.append({"variant": label, **row})
    append_results("crosslingual", rows, settings={"docs": len(data.docs), "langs": ",".join(langs)})
    return rows


if __name__ == "__main__":
    main()
