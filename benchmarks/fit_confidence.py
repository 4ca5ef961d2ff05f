"""Fit the hits' confidence (search/confidence.py) on judged queries; report its calibration on held-out ones.

    .venv/bin/semsearch build seeds/ --index /tmp/seeds-index
    .venv/bin/python benchmarks/fit_confidence.py --index /tmp/seeds-index            # writes search/confidence.json

Queries: the dev evaluation (`dev_eval/seeds.jsonl`: headlines, first sentences and keywords in en/ar/ru),
the names set (`dev_eval/names.jsonl`) and off-topic queries (`dev_eval/off_topic.jsonl`: topics the seeds
do not cover, in six languages). Every query's top FUSION_DEPTH articles in each mode are examples; an
article is relevant when the judgements list it (relevant or excluded: the query's own source article is
relevant too) or when it reports the same event (`seeds/demo/manifest.tsv`), since a reader asking for a
story is served by another outlet's report of it. Off-topic queries have no relevant article.

Held out: queries are split by story (NTREX groups 01-08 and odd-numbered off-topic / names queries fit;
groups 09-15 and the rest are held out), so no story is on both sides. The shipped coefficients are the
ones fitted on the fitting half; their expected calibration error (ECE, 10 equal-width bins) on the
held-out half is reported, with the share of off-topic queries flagged "no good match" and of answerable
queries wrongly flagged at NO_GOOD_MATCH_CONFIDENCE (index/settings.py) and at other thresholds. Appends one JSON line to
benchmarks/results/fit_confidence.jsonl.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import ROOT, SEEDS, append_results, git_sha

from index import Settings
from index.settings import DEFAULT_K, NO_GOOD_MATCH_CONFIDENCE
from search import SearchEngine, load_judgements
from search.confidence import FEATURES, MODEL_FILE, ConfidenceModel, Features
from search.evaluation import Judgement
from search.results import MODES

DEV = ROOT / "benchmarks" / "dev_eval"
SETS = ("seeds.jsonl", "names.jsonl", "off_topic.jsonl")
L2 = 1e-3
# sign of each feature's weight: cosine, margin and coverage never lower the confidence; rank never raises it
BOUNDS = {"dense": (0.0, None), "dense_margin": (0.0, None), "coverage": (0.0, None), "log_rank": (None, 0.0)}
BINS = 10
# Shares flagged at other thresholds than NO_GOOD_MATCH_CONFIDENCE, for the README.
OTHER_THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)


def events() -> dict[str, str]:
    """Article id -> event, for the demo corpus."""
    with (SEEDS / "demo" / "manifest.tsv").open(encoding="utf-8") as fh:
        return {f"demo/{r['file']}": r["event"] for r in csv.DictReader(fh, delimiter="\t")}


def held_out(judgement: Judgement) -> bool:
    """Stories 09-15 and even-numbered off-topic / names queries are held out."""
    head = judgement.id.split("-")[0]
    if head.startswith("ntrex_"):
        return int(head.removeprefix("ntrex_")) >= 9
    return int(judgement.id.rsplit("-", 1)[1]) % 2 == 0


def examples(engine: SearchEngine, judgements: list[Judgement], mode: str) -> list[tuple[str, bool, Features, bool]]:
    """(query id, held out, features, relevant) for each of every query's ranked articles."""
    event_of = events()
    out = []
    for j in judgements:
        judged = set(j.relevant) | set(j.exclude)
        wanted = judged | {a for a, e in event_of.items() if e in {event_of.get(r) for r in judged}}
        for article, features in engine.ranking_features(j.text, mode)[:DEFAULT_K]:  # type: ignore[arg-type]
            out.append((j.id, held_out(j), features, article in wanted))
    return out


def fit(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Logistic regression with sign-constrained weights (L-BFGS-B), lightly L2-regularised on standardised
    features (cosine margins are hundredths, coverage is 0-1), returned on the original scale."""
    from scipy.optimize import minimize

    mean, scale = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    z_x = (x - mean) / scale

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        p = 1 / (1 + np.exp(-(w[0] + z_x @ w[1:])))
        eps = 1e-12
        value = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + L2 * np.sum(w[1:] ** 2)
        grad = np.concatenate([[np.mean(p - y)], z_x.T @ (p - y) / len(y) + 2 * L2 * w[1:]])
        return float(value), grad

    bounds = [(None, None)] + [BOUNDS[f] for f in FEATURES]
    result = minimize(loss, np.zeros(len(FEATURES) + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 10_000, "ftol": 1e-12, "gtol": 1e-9})  # fmt: skip
    weights = result.x[1:] / scale
    return float(result.x[0] - np.sum(weights * mean)), weights


def ece(p: np.ndarray, y: np.ndarray) -> float:
    """Expected calibration error over BINS equal-width bins."""
    edges = np.minimum((p * BINS).astype(int), BINS - 1)
    return float(sum(abs(p[edges == b].mean() - y[edges == b].mean()) * (edges == b).sum() for b in range(BINS)
                     if (edges == b).any()) / len(p))  # fmt: skip


def flagged(rows: list[tuple[str, bool, Features, bool]], p: np.ndarray, threshold: float) -> dict[str, float]:
    """Share of off-topic queries flagged (best confidence under the threshold), and of answerable ones."""
    best: dict[str, float] = {}
    for (qid, *_), value in zip(rows, p):
        best[qid] = max(best.get(qid, 0.0), float(value))
    off = [b < threshold for q, b in best.items() if q.startswith("off-")]
    on = [b < threshold for q, b in best.items() if not q.startswith("off-")]
    return {"off_topic_flagged": float(np.mean(off)) if off else 0.0,
            "answerable_flagged": float(np.mean(on)) if on else 0.0,
            "off_topic_queries": len(off), "answerable_queries": len(on)}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index of seeds/ built with the default model")
    parser.add_argument("--out", type=Path, default=ROOT / "search" / MODEL_FILE)
    args = parser.parse_args(argv)
    engine = SearchEngine.open(Settings.from_env().with_overrides(index_dir=args.index))
    judgements = [j for name in SETS for j in load_judgements(DEV / name)]
    started = time.perf_counter()
    modes, report = {}, {}
    fitted: dict[str, tuple[list, np.ndarray, np.ndarray]] = {}
    for mode in MODES:
        rows = examples(engine, judgements, mode)
        x = np.array([[getattr(f, n) for n in FEATURES] for _, _, f, _ in rows])
        y = np.array([r for *_, r in rows], dtype=float)
        test = np.array([h for _, h, _, _ in rows])
        intercept, weights = fit(x[~test], y[~test])
        modes[mode] = {"intercept": round(intercept, 4), "weights": dict(zip(FEATURES, np.round(weights, 4).tolist()))}
        p = 1 / (1 + np.exp(-(intercept + x @ weights)))
        fitted[mode] = (rows, p, test)
        report[mode] = {"examples_fit": int((~test).sum()), "examples_held_out": int(test.sum()),
                        "relevant_share_held_out": round(float(y[test].mean()), 3),
                        "ece_fit": round(ece(p[~test], y[~test]), 4), "ece_held_out": round(ece(p[test], y[test]), 4)}  # fmt: skip

    threshold = NO_GOOD_MATCH_CONFIDENCE
    for mode, (rows, p, _) in fitted.items():
        report[mode]["by_threshold"] = {str(t): flagged(rows, p, t) for t in OTHER_THRESHOLDS}
    for mode, (rows, p, test) in fitted.items():
        report[mode]["held_out"] = flagged([r for r, h in zip(rows, test) if h], p[test], threshold)
        report[mode]["all"] = flagged(rows, p, threshold)
    sha = git_sha()
    provenance = {
        "fitted_by": "benchmarks/fit_confidence.py", "git": sha, "date": datetime.now(UTC).date().isoformat(),
        "model": engine.index.manifest.model.name, "corpus": "seeds/ (103 articles, 6 languages)",
        "queries": list(SETS), "split": "fit: NTREX stories 01-08, odd off-topic/names ids; held out: the rest",
        "no_good_match_confidence": threshold, "calibration": report,
    }  # fmt: skip
    model = {"features": list(FEATURES), "modes": modes, "provenance": provenance}
    args.out.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    ConfidenceModel.from_json(args.out.read_text(encoding="utf-8"))  # what the engine will read
    print(f"no-good-match threshold {threshold}  ({time.perf_counter() - started:.0f} s)")
    print("| mode | ECE fit | ECE held out | off-topic flagged (held out) | answerable flagged (held out) | weights |")
    print("|---|---|---|---|---|---|")
    for mode, r in report.items():
        h = r["held_out"]
        print(
            f"| {mode} | {r['ece_fit']:.3f} | {r['ece_held_out']:.3f} | {h['off_topic_flagged']:.2f} of "
            f"{h['off_topic_queries']} | {h['answerable_flagged']:.2f} of {h['answerable_queries']} | {modes[mode]} |"
        )
    setup = {"queries": provenance["queries"], "split": provenance["split"], "corpus": provenance["corpus"],
             "no_good_match_confidence": threshold}  # fmt: skip
    rows = [{"mode": mode, **report[mode], "weights": modes[mode]} for mode in report]
    append_results("fit_confidence", rows, model=provenance["model"], settings=setup)
    return model


if __name__ == "__main__":
    main()
