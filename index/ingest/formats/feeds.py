"""RSS and Atom feeds on disk (feedparser): every entry an article with its link, date and content."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from ...models import Repaired, Skipped
from ..cleaning import normalise
from . import Item

# An entity left in text: feedparser hands titles and summaries on as HTML (entities unexpanded), and many
# feeds escape twice ("AT&amp;amp;T"), which leaves "&amp;" even after the markup is parsed.
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")


def read_feed(raw: bytes, rel: str, *, allow_other_xml: bool = False) -> Iterator[Item]:
    """Articles from a feed's entries (full content when the feed has it, else the summary)."""
    import feedparser

    feed = feedparser.parse(raw)
    if not feed.entries:
        kind = "an XML file that is not an RSS or Atom feed" if allow_other_xml else "a feed with no entries"
        yield Skipped(rel, kind if not feed.bozo else f"{kind} ({feed.get('bozo_exception', 'malformed')})")
        return
    site = plain_text(feed.feed.get("title", "")) or None
    for n, entry in enumerate(feed.entries, start=1):
        where = f"{rel}#{n}"
        contents = [c.get("value", "") for c in entry.get("content", [])] or [entry.get("summary", "")]
        text = html_to_text("\n".join(c for c in contents if c))
        if not text.strip():
            yield Skipped(where, "entry without content or summary")
            continue
        date = entry.get("published") or entry.get("updated") or entry.get("created")
        if date is None and (entry.get("published_parsed") is None) and entry.get("date"):
            yield Repaired(where, f"date {entry.get('date')!r} not understood; kept as missing")
        yield {
            "id": entry.get("id") or entry.get("link") or where, "title": plain_text(entry.get("title", "")),
            "text": text, "url": entry.get("link"), "date": date, "source": site,
            "author": entry.get("author"), "path": where,
        }  # fmt: skip


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment, one paragraph per block element, its entities expanded."""
    if "<" not in fragment:
        return plain_text(fragment)
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return plain_text(fragment)
    for element in root.iter("p", "br", "div", "li", "h1", "h2", "h3", "h4", "blockquote"):
        element.tail = ("\n\n" + element.tail) if element.tail else "\n\n"
    return plain_text(root.text_content())


def plain_text(value: str) -> str:
    """Text without markup as feedparser gives it (a title, or markup already parsed): entities expanded once,
    then normalised."""
    return normalise(_ENTITY.sub(lambda m: html.unescape(m.group()), value))
