"""Human-readable terminal output, right-to-left text included."""

from __future__ import annotations

import unicodedata

from search.results import Hit, QueryResult

_RLI, _LRI, _PDI = "\u2067", "\u2066", "\u2069"
PASSAGE_CHARS = 280
TITLE_CHARS = 100
VERSION_TITLE_CHARS = 40
_MARK_ON, _MARK_OFF = "\033[1;33m", "\033[0m"


def is_rtl(text: str) -> bool:
    """True when the first strong character of ``text`` is right-to-left (Arabic, Persian, Hebrew...)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def isolate(text: str) -> str:
    """Wrap text in a Unicode directional isolate so it reads in its own direction inside an LTR line."""
    return f"{_RLI if is_rtl(text) else _LRI}{text}{_PDI}"


def trim(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, cut at a word boundary when possible."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.6 else cut).rstrip(" ,.;:،") + "…"


def format_result(result: QueryResult, *, color: bool = False, bidi: bool = False) -> str:
    """The hits of one query as numbered blocks: score, confidence, language, title, source, passage; the
    result's note (e.g. "No good match") first.

    ``bidi``: wrap titles and snippets in directional isolates (for a terminal; piped text stays as stored)."""
    if not result.results:
        return result.note or f"No results for {result.query!r}."
    bold = (lambda s: f"\033[1m{s}\033[0m") if color else (lambda s: s)
    dim = (lambda s: f"\033[2m{s}\033[0m") if color else (lambda s: s)
    iso = isolate if bidi else (lambda s: s)
    lines = [result.note, ""] if result.note else []
    for hit in result.results:
        title = hit.title or trim(hit.passage, 60)
        lines.append(
            f"{hit.rank:>2}. {hit.score:.3f}  confidence {hit.confidence:.2f}  [{hit.lang or '?'}]  "
            f"{bold(iso(trim(title, TITLE_CHARS)))}"
        )
        meta = "  ".join(x for x in (hit.source, hit.date, hit.url) if x)
        lines.append(f"    {dim(meta)}")
        lines.append(f"    {iso(_excerpt(hit, color))}")
        if hit.versions:
            shown = "  ".join(f"[{v.lang or '?'}] {iso(trim(v.title, VERSION_TITLE_CHARS))}" for v in hit.versions)
            lines.append(f"    {dim('also in: ' + shown)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _excerpt(hit: Hit, color: bool) -> str:
    """The snippet with the query's words highlighted (when colour is on), else the passage's start."""
    if hit.snippet is None:
        return trim(hit.passage, PASSAGE_CHARS)
    text, base = hit.snippet.text, hit.snippet.start
    if not color:
        return trim(text, PASSAGE_CHARS)
    out, position = [], 0
    for span in hit.snippet.highlights:
        start, end = span.start - base, span.end - base
        out += [text[position:start], _MARK_ON, text[start:end], _MARK_OFF]
        position = end
    out.append(text[position:])
    return " ".join("".join(out).split())
