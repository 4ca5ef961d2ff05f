"""Query filters (language, date range, outlet or path prefix), validated once for every edge."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel, ConfigDict

from index.errors import InvalidQueryError
from index.ingest.language import KNOWN_LANGUAGES

# A calendar day exactly as YYYY-MM-DD (date.fromisoformat alone also takes 20240101 and 2024-W01-1).
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class QueryFilters(BaseModel):
    """Which articles a query may return; every field left out means "any"."""

    model_config = ConfigDict(frozen=True)

    lang: list[str] | None = None
    since: date | None = None
    until: date | None = None
    source: str | None = None

    @property
    def active(self) -> bool:
        """True when any filter is set."""
        return bool(self.lang or self.since or self.until or self.source)

    def describe(self) -> str:
        """The filters in words, for notes and messages."""
        parts = [f"lang={','.join(self.lang)}"] if self.lang else []
        parts += [f"since={self.since}"] if self.since else []
        parts += [f"until={self.until}"] if self.until else []
        parts += [f"source={self.source}"] if self.source else []
        return " ".join(parts)


def parse_filters(
    lang: str | Iterable[str] | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    source: str | None = None,
    *,
    index_languages: Iterable[str] = (),
    prefix: str = "--",
) -> QueryFilters:
    """Validate raw filter values (comma-separated languages, ISO dates) into QueryFilters.

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
    return QueryFilters(lang=codes or None, since=start, until=end, source=(source or "").strip() or None)


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
