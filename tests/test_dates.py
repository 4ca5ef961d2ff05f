"""Dates to ISO 8601, keeping the source's zone, never inventing a time or a year."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from index.ingest.dates import parse_date


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2024-01-17T09:30:00+03:00", "2024-01-17T09:30:00+03:00"),
        ("2024-01-17T09:30:00Z", "2024-01-17T09:30:00+00:00"),
        ("Fri, 17 Jan 2025 09:30:00 GMT", "2025-01-17T09:30:00+00:00"),
        ("Tue, 02 Oct 2018 07:00:00 +0800", "2018-10-02T07:00:00+08:00"),
        ("2024-03-05 14:00", "2024-03-05T14:00:00"),  # no zone given: none invented
        ("17 January 2025", "2025-01-17"),  # a day only: no time invented
        ("Tuesday 17 January 2025", "2025-01-17"),
        ("2025-01-17", "2025-01-17"),
        (date(2020, 2, 29), "2020-02-29"),
        (datetime(2020, 2, 29, 8, 0, tzinfo=timezone(timedelta(hours=-5))), "2020-02-29T08:00:00-05:00"),
    ],
)
def test_dates_become_iso_8601(given: object, expected: str) -> None:
    assert parse_date(given) == (expected, None)


@pytest.mark.parametrize("given", ["sometime last week", "0001-01-01", "99/99/99", "n/a"])
def test_unparseable_dates_are_missing_with_a_reason(given: str) -> None:
    value, problem = parse_date(given)
    assert value is None and problem is not None and "kept as missing" in problem


def test_no_date_is_not_a_problem() -> None:
    assert parse_date(None) == (None, None) and parse_date("  ") == (None, None)
