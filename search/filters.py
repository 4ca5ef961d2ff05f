"""Query filters (language, date range, outlet or path prefix) parsed from text into ``index.Filter``, once per query."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from index import KNOWN_LANGUAGES, Filter
from index.errors import InvalidQueryError

# A calendar day exactly as YYYY-MM-DD (date.fromisoformat alone also takes 20240101 and 2024-W01-1).
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_filters(
    lang: str | Iterable[str] | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    source: str | None = None,
    *,
    index_languages: Iterable[str] = (),
    prefix: str = "--",
) -> Filter:
    """Validate raw filter values (comma-separated languages, ISO dates) into the one ``Filter`` the stores take.

    Messages name a filter as the edge does: ``prefix`` "--" for the CLI's flags, "" for HTTP's fields."""
    codes = None
    if lang:
        raw = lang.split(",") if isinstance(lang, str) else list(lang)
        codes = sorted({c.strip().lower() for c in raw if c.strip()})
        known = KNOWN_LANGUAGES | {c.lower() for c in index_languages}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise InvalidQueryError(
                f"Unknown language code(s) {', '.join(map(repr, unknown))}; use ISO 639-1 codes such as ar, fa, ru, zh."
            )
    start, end = _date(since, prefix + "since"), _date(until, prefix + "until")
    if start and end and start > end:
        raise InvalidQueryError(f"{prefix}since {start} is after {prefix}until {end}; swap them.")
    return Filter(langs=tuple(codes or ()), since=start, until=end, source=(source or "").strip() or None)


def _date(value: str | date | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    text = value.strip()
    try:
        if not _ISO_DAY.fullmatch(text):  # the whole value: "2024-01-01junk" is not a date
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQueryError(f"{name} {value!r} is not a date; use YYYY-MM-DD, e.g. 2025-01-17.") from None
