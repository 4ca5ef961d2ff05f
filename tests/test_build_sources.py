"""A rebuild of unchanged sources decides "nothing changed" from the fingerprint of its inputs, before reading an
article or loading the model (issue 19.8: a no-op rebuild of the seeds took ~12 s, nearly all of it loading the
model and reading); anything the fingerprint covers that changed makes it read again. Plumbing: the hashing
embedder, a real index folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import Article, BuildProgress, Settings, build_index, write_articles
from index.build import pipeline
from index.embedding.testing import HashEmbedder
from index.storage.sources import SOURCES_FILE


def _unread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading the sources fail: a build that still succeeds decided without reading."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sources were read")

    monkeypatch.setattr(pipeline, "read_sources", refuse)


def test_a_rebuild_of_unchanged_sources_reads_nothing_and_reports_as_before(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, corpus: Path
) -> None:
    (corpus / "broken.json").write_text("{not json", encoding="utf-8")
    (corpus / "copy.txt").write_text((corpus / "en_quake.txt").read_text(encoding="utf-8"), encoding="utf-8")
    first = build_index([corpus], settings, embedder=HashEmbedder())
    assert first.published and first.skipped and first.republished
    _unread(monkeypatch)
    events: list[BuildProgress] = []
    again = build_index([corpus], settings, embedder=HashEmbedder(), progress=events.append)
    assert not again.published and again.version == first.version
    assert again.skipped == first.skipped and again.skipped_total == first.skipped_total
    assert again.repaired == first.repaired and again.republished == first.republished
    assert again.manifest == first.manifest
    assert events == []  # no stage ran: nothing read, no model loaded


@pytest.mark.parametrize(
    "change",
    ["same size, other bytes", "a new file", "a file removed", "a setting", "another model", "an ignore pattern"],
)
def test_what_the_fingerprint_covers_makes_the_build_read_again(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, corpus: Path, change: str
) -> None:
    build_index([corpus], settings, embedder=HashEmbedder())
    embedder = HashEmbedder()
    if change == "same size, other bytes":
        path = corpus / "en_quake.txt"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("Friday", "Monday"), encoding="utf-8")  # the same length
    elif change == "a new file":
        (corpus / "en_more.txt").write_text("Floods in the north\n\nRivers burst their banks.", encoding="utf-8")
    elif change == "a file removed":
        (corpus / "zh_rain.txt").unlink()
    elif change == "a setting":
        settings = Settings(settings.home, settings.index_dir, passage_tokens=64)
    elif change == "another model":
        embedder = HashEmbedder(dimension=32)
        embedder.fingerprint = "hash-v1-32"  # type: ignore[misc]
    else:
        (corpus / ".semsearchignore").write_text("zh_*\n", encoding="utf-8")
    read: list[int] = []
    reading = pipeline.read_sources
    monkeypatch.setattr(pipeline, "read_sources", lambda *a, **k: read.append(1) or reading(*a, **k))
    report = build_index([corpus], settings, embedder=embedder)
    assert read == [1] and report.published


def test_a_version_published_by_another_path_or_damaged_is_read_again(
    monkeypatch: pytest.MonkeyPatch, tiny_index: Settings, corpus: Path
) -> None:
    record = json.loads((tiny_index.index_dir / SOURCES_FILE).read_text(encoding="utf-8"))
    assert record["version"] == (tiny_index.index_dir / "current").resolve().name
    # an HTTP write publishes a version the sources do not hold: the next build reads them and drops it
    article = Article("w-1", "Written", "Posted over HTTP.", "en", None, None, None, "w-1", "w-1")
    written = write_articles(tiny_index, [article], embedder=HashEmbedder())
    rebuilt = build_index([corpus], tiny_index, embedder=HashEmbedder())
    assert rebuilt.published and rebuilt.version != written.version and rebuilt.manifest.articles == 7
    # a damaged current version is rebuilt from the sources, not reported as unchanged
    store = (tiny_index.index_dir / "current" / "store.sqlite").resolve()
    with store.open("ab") as fh:
        fh.write(b"\0")
    repaired = build_index([corpus], tiny_index, embedder=HashEmbedder())
    assert repaired.published and repaired.version != rebuilt.version
    _unread(monkeypatch)
    assert not build_index([corpus], tiny_index, embedder=HashEmbedder()).published


def test_a_broken_record_is_ignored(monkeypatch: pytest.MonkeyPatch, tiny_index: Settings, corpus: Path) -> None:
    (tiny_index.index_dir / SOURCES_FILE).write_text("{", encoding="utf-8")
    reading = pipeline.read_sources
    read: list[int] = []
    monkeypatch.setattr(pipeline, "read_sources", lambda *a, **k: read.append(1) or reading(*a, **k))
    report = build_index([corpus], tiny_index, embedder=HashEmbedder())
    assert read == [1] and not report.published  # read again, found unchanged, and the record mended
    _unread(monkeypatch)
    assert not build_index([corpus], tiny_index, embedder=HashEmbedder()).published
