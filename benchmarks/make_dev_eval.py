"""Build the dev evaluation: cross-lingual queries with judgements, for `semsearch eval`.

For every NTREX article, its English, Arabic and Russian headline and first sentence are queries;
the article's versions in the other languages are relevant; its own version is excluded from the
ranking. A third query per article and language is what a user remembers of a story: the three
rarest words (names, numbers) of a body sentence that holds a number or a name ("keywords"); for it
every version is relevant, its own included, so it also measures same-language search. Three sets:

    python benchmarks/make_dev_eval.py            # benchmarks/dev_eval/seeds.jsonl (ids as in an index of seeds/)
    python benchmarks/make_dev_eval.py --ntrex    # benchmarks/results/ntrex_dev.jsonl (ids as in bench_build --ntrex)
    python benchmarks/make_dev_eval.py --names    # benchmarks/dev_eval/names.jsonl (named entities across scripts)

The names set: English queries made of the names in a story (people, places, organisations), judged
against the story's versions in non-Latin scripts (Arabic, Persian, Russian, Chinese); its English and
French versions are excluded from the ranking, so the set measures finding a name written in another
script. A query's stories are every demo story whose English text holds each query word (checked here,
not typed in), plus the seed article for the queries written about it.

The seeds set is derived from NTREX-128 text (CC BY-SA 4.0, Federmann, Kocmi, Xin 2022) and is
shipped under that license (see dev_eval/NOTICE.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

from common import ROOT, SEEDS

from index.chunking import split_sentences
from index.ingest.walk import split_title
from index.terms import term_spans

QUERY_LANGS = ("en", "ar", "ru")
NON_LATIN_LANGS = ("ar", "fa", "ru", "zh")
SEED_ARTICLE = "000_1db846cdeb2b71b3.txt"  # Arabic: Putin and Pezeshkian sign a treaty in Moscow
NAME_QUERIES = (
    "Joko Widodo Lombok", "Sutopo Purwo Nugroho Donggala", "Risa Kusuma Dwi Haris", "Yohannes Sirait Palu",
    "Sulawesi Donggala Palu", "Zoran Zaev Gjorge Ivanov", "Skopje Strumica", "Kavardarkov Macedonia",
    "Ri Yong Ho Pompeo", "Trump Kim Singapore", "Park Byeong Seoul", "Walid Moualem Mistura Idlib",
    "Assad Damascus", "Morales Titicaca Calzadilla", "Hague Bolivia Chile", "Oriol Junqueras Catalonia",
    "Yunnan China", "Berners-Lee Inrupt",
)  # fmt: skip
SEED_NAME_QUERIES = ("Putin Pezeshkian Moscow", "Peskov Kremlin Pezeshkian")


def first_sentence(text: str) -> str:
    spans = split_sentences(text)
    return text[spans[0][0] : spans[0][1]] if spans else ""


def keyword_query(text: str, document_frequency: dict[str, int]) -> str:
    """What a user remembers of a story: from the first body sentence after the lead that holds a number or
    a capitalised word inside it, its names and numbers first, then its rarest words; three, in text order.
    "" when no sentence qualifies."""
    for start, end in split_sentences(text)[1:]:
        sentence = text[start:end]
        words = [(s, e, found) for s, e, found in term_spans(sentence)
                 if len(sentence[s:e]) >= 4 or any(c.isdigit() for c in sentence[s:e])]  # fmt: skip
        named = {s for i, (s, e, _) in enumerate(words)
                 if any(c.isdigit() for c in sentence[s:e]) or (i > 0 and sentence[s].isupper())}  # fmt: skip
        if not named or len(words) < 3:
            continue
        rarest = sorted(words, key=lambda w: (w[0] not in named, min(document_frequency.get(t, 0) for t in w[2]), w[0]))
        return " ".join(sentence[s:e] for s, e, _ in sorted(rarest[:3]))
    return ""


def _frequencies(texts: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for text in texts:
        for term in {t for _, _, found in term_spans(text) for t in found}:
            counts[term] = counts.get(term, 0) + 1
    return counts


def _keyword_rows(group: str, lang: str, body: str, versions: list[str], df: dict[str, int]) -> list[dict]:
    text = keyword_query(body, df)
    if not text:
        return []
    return [{"id": f"{group}-{lang}-keywords", "text": text, "lang": lang, "relevant": versions, "exclude": []}]


def _demo_groups(demo: Path) -> dict[str, dict[str, str]]:
    """The demo corpus's NTREX parallel groups: group -> language -> article id (relative to seeds/)."""
    with (demo / "manifest.tsv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["dataset"] == "NTREX-128"]
    groups: dict[str, dict[str, str]] = {}
    for row in rows:
        groups.setdefault(row["parallel_group"], {})[row["lang"]] = f"demo/{row['file']}"
    return groups


def seeds_judgements() -> list[dict]:
    """Queries over the shipped demo corpus (article ids relative to seeds/)."""
    demo = SEEDS / "demo"
    groups = _demo_groups(demo)
    texts = {p.relative_to(SEEDS).as_posix(): p.read_text(encoding="utf-8") for p in demo.glob("*.txt")}
    out = []
    for group, versions in sorted(groups.items()):
        for lang in QUERY_LANGS:
            own = versions[lang]
            title, body = split_title(texts[own])
            others = sorted(v for lg, v in versions.items() if lg != lang)
            for kind, text in (("title", title), ("sentence", first_sentence(body))):
                out.append(
                    {"id": f"{group}-{lang}-{kind}", "text": text, "lang": lang, "relevant": others, "exclude": [own]}
                )
            same_language = [t for path, t in texts.items() if path.endswith(f"_{lang}.txt")]
            out += _keyword_rows(group, lang, body, sorted(versions.values()), _frequencies(same_language))
    return out


def names_judgements() -> list[dict]:
    """English name queries judged on the demo stories' Arabic, Persian, Russian and Chinese versions."""
    demo = SEEDS / "demo"
    groups = _demo_groups(demo)
    english = {g: (demo / Path(v["en"]).name).read_text(encoding="utf-8") for g, v in groups.items()}
    out = []
    for number, text in enumerate(NAME_QUERIES, start=1):
        words = [re.compile(rf"\b{re.escape(w)}\b", re.IGNORECASE) for w in text.split()]
        stories = sorted(g for g, body in english.items() if all(w.search(body) for w in words))
        assert stories, f"no demo story names all of {text!r}"
        relevant = sorted(groups[g][lang] for g in stories for lang in NON_LATIN_LANGS)
        exclude = sorted(groups[g][lang] for g in stories for lang in ("en", "fr"))
        out.append({"id": f"names-{number:02d}", "text": text, "lang": "en", "relevant": relevant, "exclude": exclude})
    for number, text in enumerate(SEED_NAME_QUERIES, start=len(out) + 1):
        out.append({"id": f"names-{number:02d}", "text": text, "lang": "en", "relevant": [SEED_ARTICLE], "exclude": []})
    return out


def ntrex_judgements() -> list[dict]:
    """Queries over NTREX-128 as bench_build --ntrex indexes it (ids "<document>/<lang>")."""
    import ntrex

    by_doc: dict[str, dict[str, dict]] = {}
    for article in ntrex.articles():
        doc, lang = article["id"].rsplit("/", 1)
        by_doc.setdefault(doc, {})[lang] = article
    frequencies = {lang: _frequencies([v[lang]["text"] for v in by_doc.values() if lang in v]) for lang in QUERY_LANGS}
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
            out += _keyword_rows(doc, lang, own["text"], sorted(v["id"] for v in versions.values()), frequencies[lang])
    return out


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--ntrex", action="store_true")
    which.add_argument("--names", action="store_true")
    args = parser.parse_args(argv)
    rows = ntrex_judgements() if args.ntrex else names_judgements() if args.names else seeds_judgements()
    name = "results/ntrex_dev.jsonl" if args.ntrex else "dev_eval/names.jsonl" if args.names else "dev_eval/seeds.jsonl"
    path = ROOT / "benchmarks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} queries -> {path}")
    return path


if __name__ == "__main__":
    main()
