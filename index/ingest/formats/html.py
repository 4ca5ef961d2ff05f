"""Web pages: the article's main text and metadata, extracted by trafilatura.

Settings, and why: ``favor_precision`` — a news page's chrome (related-story lists, cookie banners,
newsletter boxes, comment threads) is what we must keep out, and on the test pages precision mode
kept every body paragraph while balanced mode let a related-stories list through; comments off;
tables kept (they hold figures); trafilatura's fallback extractors on (``fast=False``), which rescue
pages whose markup hides the article, at a measured cost that still leaves HTML ingest well above 200
pages/s (benchmarks/README.md). The date comes from the page's metadata with its time zone when given;
the language is detected from the text like every other article (a page's ``lang`` attribute is often a
template default). A page with no article text is skipped by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...models import Repaired, Skipped
from ..cleaning import normalise, strip_chrome
from . import Item, decode

# rare letters (trafilatura also strips private-use characters), mapped back after extraction
_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_ZWNJ, _ZWJ = "\ua66e", "\ua66d"
# Less text than this (words, or characters for scripts without spaces) is a page without an article.
MIN_ARTICLE_WORDS = 15
MIN_ARTICLE_CHARS = 60
# Trafilatura's date search: the original publication date, with time and zone when the page has them.
_DATE_PARAMS = {"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


def read_html(raw: bytes, rel: str) -> Iterator[Item]:
    """One article from one page, or a Skipped saying why not."""
    import trafilatura
    from trafilatura.settings import use_config

    decoded = _declared(raw, rel) or decode(raw, rel)
    if not isinstance(decoded, tuple):
        yield decoded
        return
    html, note = decoded
    if note:
        yield note
    # trafilatura drops zero-width (non-)joiners, which Persian and Indic spelling needs: carry them through
    # as private-use characters
    html = html.replace("\u200c", _ZWNJ).replace("\u200d", _ZWJ)
    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # its timeout uses signals: main thread only
    try:
        doc = trafilatura.bare_extraction(
            html, favor_precision=True, include_comments=False, include_tables=True, with_metadata=True,
            date_extraction_params=_DATE_PARAMS, config=config,
        )  # fmt: skip
    except (ValueError, TypeError) as exc:  # malformed markup lxml cannot parse
        yield Skipped(rel, f"not a readable web page: {exc}")
        return
    text = _restore(normalise(getattr(doc, "text", None) or "")) if doc is not None else ""
    title = _restore(normalise(getattr(doc, "title", None) or "")) if doc is not None else ""
    if title and text.startswith(title):  # the page's <h1> repeats the title
        text = text[len(title) :].lstrip("\n")
    body = strip_chrome(text.replace("\n", "\n\n")).text.strip("\n") if text else ""
    if len(body.split()) < MIN_ARTICLE_WORDS and len(body) < MIN_ARTICLE_CHARS:
        yield Skipped(rel, "no article text found in the page (a section front, a form or an empty page?)")
        return
    date = getattr(doc, "date", None)
    if date and date.endswith("T00:00:00"):  # the page gave a day only: no time of day is invented
        date = date[: -len("T00:00:00")]
    yield {
        "id": rel, "title": title, "text": body, "path": rel, "url": getattr(doc, "url", None),
        "date": date, "source": getattr(doc, "sitename", None),
        "author": getattr(doc, "author", None),
    }  # fmt: skip


def _declared(raw: bytes, rel: str) -> tuple[str, Repaired | None] | None:
    """The page decoded with the character set its <meta> declares, when it is not UTF-8 and declares one."""
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    match = _CHARSET.search(raw[:4096])
    if not match:
        return None
    charset = match.group(1).decode("ascii", "replace")
    try:
        return raw.decode(charset), Repaired(rel, f"not UTF-8; decoded as {charset}, as the page declares")
    except (LookupError, UnicodeDecodeError):
        return None


def _restore(text: str) -> str:
    return text.replace(_ZWNJ, "\u200c").replace(_ZWJ, "\u200d")
