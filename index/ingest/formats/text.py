"""Plain text and Markdown files: a title line, a body, site chrome removed, and the date of a dateline (a
line under the title that is a whole date and nothing else)."""

from __future__ import annotations

import re

from ...models import Skipped
from ..cleaning import clean_scraped, normalise, strip_chrome
from ..dates import dateline

# A first line this short is a title even without a blank line after it.
SHORT_TITLE_CHARS = 120
# A scraped page's "Site icon <site name>" line (removed as chrome) names the outlet.
_SITE_ICON = re.compile(r"^site icon\s+(?P<site>\S.{0,79})$", re.IGNORECASE)


def read_text(
    content: str, rel: str, *, markdown: bool = False, boilerplate: frozenset[str] = frozenset()
) -> dict[str, object] | Skipped:
    """One article from a text file: chrome and ``boilerplate`` lines removed, then the title split off,
    then embedded headlines removed from the body."""
    stripped = strip_chrome(normalise(content), boilerplate)
    title, body = split_title(stripped.text, markdown=markdown)
    cleaned = clean_scraped(body, boilerplate)
    if not cleaned.text.strip():
        return Skipped(rel, "no text after the title")
    site = next((m["site"].strip() for line in stripped.removed if (m := _SITE_ICON.match(line))), None)
    # a line under the title that is a whole date (a news dateline) dates the article; it stays in the text
    first_line = next((line for line in cleaned.text.splitlines() if line.strip()), "")
    date = dateline(first_line)
    return {"id": rel, "title": title, "text": cleaned.text, "path": rel,
            "removed": stripped.removed + cleaned.removed, **({"source": site} if site else {}),
            **({"date": date} if date else {})}  # fmt: skip


def split_title(content: str, *, markdown: bool = False) -> tuple[str, str]:
    """Split a text file into (title, body); the title is empty when the first line is not one."""
    lines = content.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return "", ""
    head = lines[first].strip()
    is_heading = markdown and head.startswith("#")
    followed_by_blank = first + 1 < len(lines) and not lines[first + 1].strip()
    if is_heading or followed_by_blank or (len(head) <= SHORT_TITLE_CHARS and first + 1 < len(lines)):
        title = head.lstrip("#").strip() if is_heading else head
        return title, "".join(lines[first + 1 :]).strip("\n")
    return "", content.strip("\n")
