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

from collections.abc import Iterator

from index.cleaning import clean_scraped, normalise
from index.formats import Item, decode
from index.records import Skipped

# Trafilatura's date search: the original publication date, with time and zone when the page has them.
_DATE_PARAMS = {"original_date": True, "extensive_search": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


def read_html(raw: bytes, rel: str) -> Iterator[Item]:
    """One article from one page, or a Skipped saying why not."""
    import trafilatura
    from trafilatura.settings import use_config

    decoded = decode(raw, rel)
    if not isinstance(decoded, tuple):
        yield decoded
        return
    html, note = decoded
    if note:
        yield note
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
    text = normalise(getattr(doc, "text", None) or "") if doc is not None else ""
    title = normalise(getattr(doc, "title", None) or "")
    if title and text.startswith(title):  # the page's <h1> repeats the title
        text = text[len(title) :].lstrip("\n")
    body = clean_scraped(text.replace("\n", "\n\n")).text if text else ""
    if not body.strip():
        yield Skipped(rel, "no article text found in the page")
        return
    yield {
        "id": rel, "title": title, "text": body, "path": rel, "url": getattr(doc, "url", None),
        "date": getattr(doc, "date", None), "source": getattr(doc, "sitename", None),
        "author": getattr(doc, "author", None),
    }  # fmt: skip
