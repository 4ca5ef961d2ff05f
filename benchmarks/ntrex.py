"""NTREX-128 (../shared/corpus-ntrex) as semsearch articles: one JSON line per article and language.

Each document's first segment is its headline; the rest is the body (segments joined with a space,
without one for Chinese and Japanese). Article ids are "<document>/<lang>", so translations share a
document prefix. CC BY-SA 4.0 (Federmann, Kocmi, Xin 2022); nothing is copied into the project.
"""

from __future__ import annotations

import csv
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


def segments(folder: Path, langs: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    """Each document's segments per language: {document id: {lang: [segment, ...]}}, in file order."""
    ids = (folder / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    out: dict[str, dict[str, list[str]]] = {}
    for lang in langs:
        lines = (folder / FILES[lang]).read_text(encoding="utf-8").splitlines()
        for doc, line in zip(ids, lines):
            out.setdefault(doc.strip(), {}).setdefault(lang, []).append(line.strip())
    return out


def demo_documents(seeds: Path) -> set[str]:
    """The NTREX documents the demo corpus under ``seeds`` holds (its manifest's doc_id column)."""
    with (seeds / "demo" / "manifest.tsv").open(encoding="utf-8") as fh:
        return {row["doc_id"] for row in csv.DictReader(fh, delimiter="\t")}


def articles(folder: Path = DEFAULT_DIR, paragraphs: bool = False) -> list[dict[str, str]]:
    """Every NTREX document in every language as {"id", "title", "text"}; with ``paragraphs`` each
    segment is its own paragraph (blank lines between), as the HTML pages below have them."""
    docs = (folder / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    out = []
    for lang, name in FILES.items():
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        if len(lines) != len(docs):
            raise ValueError(f"{name} has {len(lines)} lines, DOCUMENT_IDS.tsv {len(docs)}")
        grouped: dict[str, list[str]] = {}
        for doc, line in zip(docs, lines):
            grouped.setdefault(doc.strip(), []).append(line.strip())
        joiner = "\n\n" if paragraphs else "" if lang in ("zh", "ja") else " "
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


_PAGE = """<!DOCTYPE html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8"><title>{title} | NTREX News</title>
<meta property="og:site_name" content="NTREX News"><meta property="og:title" content="{title}">
<meta property="article:published_time" content="2019-01-{day:02d}T10:00:00+00:00"></head>
<body><div class="cookie-banner">We use cookies. <button>Accept all cookies</button></div>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a></nav>
<article><h1>{title}</h1>
{paragraphs}
</article>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>
<footer><p>Sign up for our newsletter</p><p>© 2019 NTREX News. All rights reserved.</p></footer>
</body></html>
"""


def write_html(target: Path, folder: Path = DEFAULT_DIR, limit: int | None = None) -> int:
    """One web page per article (``<document>/<lang>.html``) with navigation, a cookie banner, related
    stories and a footer around it; returns the number of pages."""
    import html

    rows = articles(folder, paragraphs=True)[:limit]
    titles = [r["title"] for r in rows]
    for n, row in enumerate(rows):
        doc, lang = row["id"].rsplit("/", 1)
        path = target / doc / f"{lang}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n".join(f"<p>{html.escape(p)}</p>" for p in row["text"].split("\n\n") if p)
        related = "".join(f'<li><a href="/{i}">{html.escape(titles[(n + i) % len(titles)])}</a></li>' for i in (7, 19))
        path.write_text(
            _PAGE.format(lang=lang, dir="rtl" if lang in ("ar", "fa", "he") else "ltr", title=html.escape(row["title"]),
                         day=1 + n % 28, paragraphs=body, related=related),
            encoding="utf-8",
        )  # fmt: skip
    return len(rows)
