"""Ingest throughput: reading, parsing and cleaning articles (no embedding), per input format.

NTREX-128 (../shared) is written out as web pages (with navigation, a cookie banner, related
stories and a footer around each article), as JSON Lines, and as JSON Lines with a ``lang`` field;
each is read with ``iter_articles`` — the same call ``semsearch build`` makes — timed as a whole,
language detection included where the input does not name the language. Medians of ``--repeat``
runs; appends JSON lines to benchmarks/results/ingest.jsonl.

    python benchmarks/bench_ingest.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import ntrex
from common import append_results

from index import Article, iter_articles
from index.ingest.language import LanguageDetector


def timed(path: Path, detector: LanguageDetector) -> tuple[float, int]:
    """Seconds to read everything under ``path``, and the number of articles."""
    started = time.perf_counter()
    count = sum(isinstance(item, Article) for item in iter_articles([path], detector))
    return time.perf_counter() - started, count


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    args = parser.parse_args(argv)
    detector = LanguageDetector()
    detector.detect("warm up the language models once, outside the timings")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ntrex.write_html(folder / "html", limit=args.limit)
        records = ntrex.articles(paragraphs=True)[: args.limit]
        with (folder / "plain.jsonl").open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        with (folder / "with_lang.jsonl").open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps({**r, "lang": r["id"].rsplit("/", 1)[1]}, ensure_ascii=False) + "\n")
        inputs = {"HTML pages": folder / "html", "JSONL": folder / "plain.jsonl",
                  "JSONL with lang": folder / "with_lang.jsonl"}  # fmt: skip
        print(f"{'input':<18}{'articles':>10}{'median s':>10}{'articles/s':>12}")
        for label, path in inputs.items():
            runs = [timed(path, detector) for _ in range(args.repeat)]
            seconds = statistics.median(r[0] for r in runs)
            count = runs[0][1]
            print(f"{label:<18}{count:>10}{seconds:>10.2f}{count / seconds:>12.0f}")
            rows.append({"input": label, "articles": count, "seconds": seconds, "per_second": count / seconds})
    append_results("ingest", rows, settings={"repeat": args.repeat, "limit": args.limit})
    return rows


if __name__ == "__main__":
    main()
