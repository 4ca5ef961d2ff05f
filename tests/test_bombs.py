"""Issue 18.3: bombs inside streamed formats. One huge JSONL line or CSV field inside a small .gz/.zip, a
member that expands far past its compressed size, and an archive of countless malformed lines are each read
with bounded memory and time: the bomb is skipped by name and the rest is indexed."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

import index.ingest.formats
import index.models
from index import Settings, build_index
from index.ingest.formats import ReadOptions
from index.ingest.walk import iter_articles
from index.models import Article, Skipped
from tests.conftest import HashEmbedder

T = TypeVar("T")
HUGE = 40 << 20  # the bomb's one line or field: 40 MB of one repeated character (compresses to ~40 KB)
CAP = 1 << 20  # the per-record cap lowered for these tests, so the bomb is 40 times over it


def measured(work: Callable[[], T]) -> tuple[T, int, float]:
    """``work()``'s result, its peak of Python memory in bytes and its seconds."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1], time.perf_counter() - started
    finally:
        tracemalloc.stop()


def read_all(path: Path, options: ReadOptions) -> tuple[list[Article], dict[str, str]]:
    articles: list[Article] = []
    skipped: dict[str, str] = {}
    for item in iter_articles([path], options=options):
        if isinstance(item, Skipped):
            skipped[item.path] = item.reason
        elif isinstance(item, Article):
            articles.append(item)
    return articles, skipped


def record(n: int) -> str:
    return json.dumps({"id": f"a{n}", "text": f"Article {n} about the harbour strike and its ferries."})


def test_a_huge_jsonl_line_in_a_gz_is_skipped_by_name_without_being_read_whole(tmp_path: Path) -> None:
    """Issue 18.3: a .gz of a JSONL whose second line is 40 MB (one text field of repeated characters)."""
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as out:
        out.write((record(1) + "\n").encode())
        out.write(b'{"id": "huge", "text": "' + b"a" * HUGE + b'"}\n')
        out.write((record(3) + "\n").encode())
    assert bomb.stat().st_size < HUGE / 100
    (articles, skipped), peak, seconds = measured(lambda: read_all(bomb, ReadOptions(max_document_bytes=CAP)))
    assert [a.id for a in articles] == ["a1", "a3"]
    assert list(skipped) == ["bomb.jsonl.gz#2"] and "line 2 is longer than 1 MB" in skipped["bomb.jsonl.gz#2"]
    assert peak < HUGE / 8, f"peak {peak >> 20} MB for a {HUGE >> 20} MB line"
    assert seconds < 20


def test_a_huge_csv_field_in_a_zip_is_skipped_by_name_without_being_read_whole(tmp_path: Path) -> None:
    """Issue 18.3: a .zip holding a CSV with two 20 MB text fields (unquoted, then quoted; together under the
    expansion floor, so it is the per-record cap that stops them)."""
    bomb = tmp_path / "bomb.zip"
    field = HUGE // 2
    rows = [b"id,title,text\n", b"c1,First,The ferry strike ends after a week of talks.\n"]
    rows += [b"c2,Huge," + b"b" * field + b"\n", b'c3,Quoted,"' + b"q" * field + b'"\n']
    rows += [b"c4,Last,Harbour workers return to the docks on Monday.\n"]
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("export.csv", b"".join(rows))
    (articles, skipped), peak, seconds = measured(lambda: read_all(bomb, ReadOptions(max_document_bytes=CAP)))
    assert [a.id for a in articles] == ["c1", "c4"]
    assert sorted(skipped) == ["bomb.zip!export.csv#3", "bomb.zip!export.csv#4"]
    assert all("is longer than 1 MB" in reason for reason in skipped.values())
    assert peak < field / 4, f"peak {peak >> 20} MB for a {field >> 20} MB field"
    assert seconds < 20


def test_a_member_expanding_past_the_ratio_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18.3: a .gz and a .zip member that decompress to over 200 times their size (past a floor, lowered
    here to 4 MB) are refused by name while streaming; an honest member beside them is read."""
    monkeypatch.setattr(index.ingest.formats, "EXPANSION_FLOOR_BYTES", 4 << 20)
    folder = tmp_path / "src"
    folder.mkdir()
    lines = b"".join(f"{record(n)}\n".encode() for n in range(2_000))  # ~150 KB of records
    with gzip.open(folder / "zeros.jsonl.gz", "wb") as out:
        out.write(record(0).encode() + b"\n" + b" " * (30 << 20) + b"\n")  # blank: no line cap applies
    with zipfile.ZipFile(folder / "mixed.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.jsonl", record(-1).encode() + b"\n" + b" " * (30 << 20) + b"\n")
        archive.writestr("honest.jsonl", lines)
    (articles, skipped), _, seconds = measured(lambda: read_all(folder, ReadOptions()))
    # each bomb's first record is read before it blows; honest's a0 is a duplicate of the gz's
    assert len(articles) == 2 + 2_000 - 1 and {"a0", "a-1", "a1999"} <= {a.id for a in articles}
    assert set(skipped) >= {"zeros.jsonl.gz", "mixed.zip!bomb.jsonl"}
    for name in ("zeros.jsonl.gz", "mixed.zip!bomb.jsonl"):
        assert "compression bomb" in skipped[name], skipped[name]
    assert seconds < 30


def test_an_archive_of_many_malformed_lines_keeps_a_bounded_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18.3: every skipped line used to be kept in a list; a build names the first MAX_NOTICES (lowered
    here to 50) and counts the rest, in its report, its manifest and the CLI's summary."""
    monkeypatch.setattr(index.models, "MAX_NOTICES", 50)
    folder = tmp_path / "src"
    folder.mkdir()
    with gzip.open(folder / "bad.jsonl.gz", "wb") as out:
        out.write((record(1) + "\n").encode())
        out.write(b"{not json\n" * 5_000)
        out.write((record(2) + "\n").encode())
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "index")
    report = build_index([folder], settings, embedder=HashEmbedder())
    assert report.manifest.articles == 2
    assert len(report.skipped) == 50 and report.skipped_total == 5_000 == report.manifest.skipped
    assert report.skipped[0].path == "bad.jsonl.gz#2" and report.skipped[-1].path == "bad.jsonl.gz#51"
