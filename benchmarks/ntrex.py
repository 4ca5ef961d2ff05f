"""NTREX-128 (../shared/corpus-ntrex) as semsearch articles: one JSON line per article and language.

Each document's first segment is its headline; the rest is the body (segments joined with a space,
without one for Chinese and Japanese). Article ids are "<document>/<lang>", so translations share a
document prefix. CC BY-SA 4.0 (Federmann, Kocmi, Xin 2022); nothing is copied into the project.
"""

from __future__ import annotations

import json
from pathlib import Path

FILES = {
    "en": "newstest2019-src.eng.txt", "ar": "newstest2019-ref.arb.txt", "de": "newstest2019-ref.deu.txt",
    "fa": "newstest2019-ref.fas.txt", "fr": "newstest2019-ref.fra.txt", "he": "newstest2019-ref.heb.txt",
    "hi": "newstest2019-ref.hin.txt", "ja": "newstest2019-ref.jpn.txt", "ko": "newstest2019-ref.kor.txt",
    "ru": "newstest2019-ref.rus.txt", "es": "newstest2019-ref.spa.txt", "tr": "newstest2019-ref.tur.txt",
    "uk": "newstest2019-ref.ukr.txt", "zh": "newstest2019-ref.zho-CN.txt",
}  # fmt: skip
DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus-ntrex"


def articles(folder: Path = DEFAULT_DIR) -> list[dict[str, str]]:
    """Every NTREX document in every language as {"id", "title", "text"}."""
    docs = (folder / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    out = []
    for lang, name in FILES.items():
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        if len(lines) != len(docs):
            raise ValueError(f"{name} has {len(lines)} lines, DOCUMENT_IDS.tsv {len(docs)}")
        grouped: dict[str, list[str]] = {}
        for doc, line in zip(docs, lines):
            grouped.setdefault(doc.strip(), []).append(line.strip())
        joiner = "" if lang in ("zh", "ja") else " "
        for doc, segments in grouped.items():
            out.append({"id": f"{doc}/{lang}", "title": segments[0], "text": joiner.join(segments[1:])})
    return out


def write_jsonl(path: Path, folder: Path = DEFAULT_DIR) -> int:
    """Write the corpus as JSON Lines; returns the number of articles."""
    rows = articles(folder)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)
