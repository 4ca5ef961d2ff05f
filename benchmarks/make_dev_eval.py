"""Build the dev evaluation: cross-lingual queries with judgements, for `semsearch eval`.

For every NTREX article, its English, Arabic and Russian headline and first sentence are queries;
the article's versions in the other languages are relevant; its own version is excluded from the
ranking. Two sets:

    python benchmarks/make_dev_eval.py            # benchmarks/dev_eval/seeds.jsonl (ids as in an index of seeds/)
    python benchmarks/make_dev_eval.py --ntrex    # benchmarks/results/ntrex_dev.jsonl (ids as in bench_build --ntrex)

The seeds set is derived from NTREX-128 text (CC BY-SA 4.0, Federmann, Kocmi, Xin 2022) and is
shipped under that license (see dev_eval/NOTICE.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from index.chunker import split_sentences  # noqa: E402
from index.sources import split_title  # noqa: E402

QUERY_LANGS = ("en", "ar", "ru")


def first_sentence(text: str) -> str:
    spans = split_sentences(text)
    return text[spans[0][0] : spans[0][1]] if spans else ""


def seeds_judgements() -> list[dict]:
    """Queries over the shipped demo corpus (article ids relative to seeds/)."""
    demo = ROOT / "seeds" / "demo"
    with (demo / "manifest.tsv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["dataset"] == "NTREX-128"]
    groups: dict[str, dict[str, str]] = {}
    for row in rows:
        groups.setdefault(row["parallel_group"], {})[row["lang"]] = f"demo/{row['file']}"
    out = []
    for group, versions in sorted(groups.items()):
        for lang in QUERY_LANGS:
            own = versions[lang]
            title, body = split_title((ROOT / "seeds" / own).read_text(encoding="utf-8"))
            others = sorted(v for lg, v in versions.items() if lg != lang)
            for kind, text in (("title", title), ("sentence", first_sentence(body))):
                out.append(
                    {"id": f"{group}-{lang}-{kind}", "text": text, "lang": lang, "relevant": others, "exclude": [own]}
                )
    return out


def ntrex_judgements() -> list[dict]:
    """Queries over NTREX-128 as bench_build --ntrex indexes it (ids "<document>/<lang>")."""
    import ntrex

    by_doc: dict[str, dict[str, dict]] = {}
    for article in ntrex.articles():
        doc, lang = article["id"].rsplit("/", 1)
        by_doc.setdefault(doc, {})[lang] = article
    out = []
    for doc, versions in sorted(by_doc.items()):
        for lang in QUERY_LANGS:
            own = versions[lang]
            others = sorted(v["id"] for lg, v in versions.items() if lg != lang)
            for kind, text in (("title", own["title"]), ("sentence", first_sentence(own["text"]))):
                if text.strip():
                    out.append(
                        {
                            "id": f"{doc}-{lang}-{kind}",
                            "text": text,
                            "lang": lang,
                            "relevant": others,
                            "exclude": [own["id"]],
                        }
                    )
    return out


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ntrex", action="store_true")
    args = parser.parse_args(argv)
    rows = ntrex_judgements() if args.ntrex else seeds_judgements()
    path = ROOT / "benchmarks" / ("results/ntrex_dev.jsonl" if args.ntrex else "dev_eval/seeds.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} queries -> {path}")
    return path


if __name__ == "__main__":
    main()
