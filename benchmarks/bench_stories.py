"""Story grouping against known translations: pairwise precision and recall, by alignment threshold.

Reads a built index (its raw passage vectors and store) and the truth about which articles are
versions of one another: the demo corpus's manifest.tsv ``parallel_group`` (an index of seeds/), or
NTREX's document ids ("<document>/<lang>", an index built by ``bench_build.py --ntrex`` or from
``ntrex.write_jsonl``). Two articles are a true pair when they share a group; precision and recall are
over all pairs of articles. Appends JSON lines to benchmarks/results/stories.jsonl.

    python benchmarks/bench_stories.py --index ~/.cache/semsearch/index
    python benchmarks/bench_stories.py --index /tmp/ntrex-index --truth ntrex
"""

from __future__ import annotations

import argparse
import csv
import time
from itertools import combinations
from pathlib import Path

import numpy as np
from common import SEEDS, append_results

from index import open_index
from index.build.stories import ALIGN_THRESHOLD, find_stories
from index.models import HEADLINE_ID_BASE


def truth(article_ids: list[str], kind: str) -> dict[str, str]:
    """Group label per article id (its own id when it has no versions)."""
    if kind == "ntrex":
        return {a: a.rsplit("/", 1)[0] for a in article_ids}
    with (SEEDS / "demo" / "manifest.tsv").open(encoding="utf-8") as fh:
        group_of = {f"demo/{r['file']}": r["parallel_group"] for r in csv.DictReader(fh, delimiter="\t")}
    return {a: group_of.get(a) or a for a in article_ids}


def pairwise(predicted: dict[str, object], gold: dict[str, str]) -> tuple[float, float]:
    """Pairwise precision and recall of a grouping."""
    tp = fp = fn = 0
    for a, b in combinations(sorted(gold), 2):
        same, true = predicted[a] == predicted[b], gold[a] == gold[b]
        tp += same and true
        fp += same and not true
        fn += true and not same
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--truth", choices=("demo", "ntrex"), default="demo")
    parser.add_argument("--thresholds", default="0.66,0.70,0.72,0.74,0.76,0.78,0.80,0.82")
    args = parser.parse_args(argv)
    loaded = open_index(args.index)
    rows = loaded.rows
    articles = loaded.store._con().execute("SELECT num, id, lang FROM articles").fetchall()
    ids = {num: aid for num, aid, _ in articles}
    langs = {num: lang or "?" for num, _, lang in articles}
    gold = truth(list(ids.values()), args.truth)
    body = rows.ids < HEADLINE_ID_BASE
    raw, owner, vector_langs = np.asarray(rows.raw[body]), rows.articles[body], list(rows.langs[body])
    print(f"{len(ids)} articles, {len(set(gold.values()))} true groups ({args.truth})")
    print(f"{'threshold':>10}{'precision':>11}{'recall':>8}{'stories':>9}{'seconds':>9}")
    out = []
    for threshold in [float(t) for t in args.thresholds.split(",")]:
        started = time.perf_counter()
        stories = find_stories(raw, owner, vector_langs, langs, threshold)
        seconds = time.perf_counter() - started
        predicted = {ids[n]: stories.get(n, f"alone-{n}") for n in ids}
        precision, recall = pairwise(predicted, gold)
        mark = "  (default)" if threshold == ALIGN_THRESHOLD else ""
        print(f"{threshold:>10.2f}{precision:>11.3f}{recall:>8.3f}{len(set(stories.values())):>9}{seconds:>9.2f}{mark}")
        out.append({"threshold": threshold, "precision": precision, "recall": recall, "seconds": seconds})
    append_results(
        "stories", out, model=loaded.manifest.model.name, settings={"truth": args.truth, "articles": len(ids)}
    )
    return out


if __name__ == "__main__":
    main()
