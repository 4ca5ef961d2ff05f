"""Article dates as ISO 8601: with the source's UTC offset when it gives one, never invented."""

from __future__ import annotations

import re
from datetime import date, datetime

# Dates earlier than this or later than this are taken for parsing accidents (a "date" of 0001-01-01).
_EARLIEST, _LATEST = 1800, 2200
_TIME = re.compile(r"\d[:T]\d")
# A dateline is a short line that is a whole date and nothing else ("Friday, January 4, 2019", "2019-01-04").
_DATELINE_CHARS = 40
_YEAR = re.compile(r"\b\d{4}\b")


def parse_date(value: object) -> tuple[str | None, str | None]:
    """(ISO 8601 date or date-time, None) or (None, why not). Empty input is (None, None).

    "2024-01-17T09:30:00+03:00" keeps its offset; "Fri, 17 Jan 2025 09:30:00 GMT" becomes
    "2025-01-17T09:30:00+00:00"; a date-time without a zone stays without one; "17 January 2025"
    becomes "2025-01-17".
    """
    if value is None:
        return None, None
    if isinstance(value, datetime):
        return _iso(value), None
    if isinstance(value, date):
        return value.isoformat(), None
    text = str(value).strip()
    if not text:
        return None, None
    from dateutil import parser

    try:
        parsed = parser.parse(text, default=datetime(1, 1, 1))
    except (ValueError, OverflowError, TypeError):
        return None, f"date {text[:40]!r} not understood; kept as missing"
    if not _EARLIEST <= parsed.year <= _LATEST:
        return None, f"date {text[:40]!r} has no plausible year; kept as missing"
    has_time = _TIME.search(text) is not None
    return (_iso(parsed) if has_time else parsed.date().isoformat()), None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def dateline(line: str) -> str | None:
    """The ISO date a dateline states ("Friday, January 4, 2019" -> "2019-01-04"), or None when ``line`` is
    anything more or less than one whole day (text around it, no year, a month without its day)."""
    text = line.strip()
    if not text or len(text) > _DATELINE_CHARS or not _YEAR.search(text):
        return None
    from dateutil import parser

    try:  # a part the line leaves out is filled from the default: two defaults that differ expose it
        first = parser.parse(text, default=datetime(1, 1, 1))
        second = parser.parse(text, default=datetime(2, 2, 2))
    except (ValueError, OverflowError, TypeError):
        return None
    if first.date() != second.date() or not _EARLIEST <= first.year <= _LATEST:
        return None
    return first.date().isoformat()
