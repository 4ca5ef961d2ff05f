"""Dates to ISO 8601, keeping the source's zone, never inventing a time or a year."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from index.ingest.dates import dateline, parse_date


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


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Friday, January 4, 2019", "2019-01-04"),
        ("  2020-07-02 ", "2020-07-02"),
        ("17 January 2025", "2025-01-17"),
        ("March 2019", None),  # no day: not one whole date
        ("4 May", None),  # no year
        ("2019", None),
        ("12 killed on 4 May 2019", None),  # a sentence that holds a date is not a dateline
        ("The 2019 season began on Friday, January 4, 2019 in Paris", None),
        ("", None),
    ],
)
def test_a_dateline_is_one_whole_date_and_nothing_else(line: str, expected: str | None) -> None:
    assert dateline(line) == expected


def test_a_text_file_with_a_dateline_under_its_title_is_dated(tmp_path: Path) -> None:
    from index import Article, iter_articles

    (tmp_path / "a.txt").write_text("Storm hits the coast\n\nMonday, March 2, 2020\n\nWaves broke the sea wall.\n")
    (tmp_path / "b.txt").write_text("Storm hits again\n\nOn Monday, March 9, 2020 the waves came back.\n")
    dates = {a.id: a.date for a in iter_articles([tmp_path]) if isinstance(a, Article)}
    assert dates == {"a.txt": "2020-03-02", "b.txt": None}
