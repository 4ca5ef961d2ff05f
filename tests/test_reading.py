"""The build's one article assembler: local reading and worker-produced records (a Ray build) give the same
articles, in the same order, with the same notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from index.build.reading import Entry, Record, assemble, local_entries
from index.errors import NothingToIndexError
from index.ingest.formats import ReadOptions
from index.models import Article
from tests.conftest import write_corpus

FILES = {
    "a/one.txt": "Harbour\n\nThe harbour reopened after the storm.",
    "a/two.txt": "Bridge\n\nA new bridge opened in the south.",
    "feed.jsonl": '{"id": "x", "title": "No language", "text": "A report without a stated language."}\n'
    '{"id": "y", "title": "Titre", "text": "Un article en français.", "lang": "fr"}\n'
    '{"id": "x", "title": "Again", "text": "The same id a second time."}\n',
}


class Detector:
    """Names every text's language "en", counting the texts it was asked about."""

    def __init__(self) -> None:
        self.texts = 0

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        self.texts += len(texts)
        return ["en"] * len(texts)


def _as_workers_send(entries: list[Entry]) -> list[Entry]:
    """Each record with its undetected articles' languages detected, as a Ray reader sends it."""
    detector = Detector()
    out: list[Entry] = []
    for entry in entries:
        if isinstance(entry, Record):
            texts = [f"{a.title}\n{a.text}" for a in entry.items if isinstance(a, Article) and not a.lang]
            entry = replace(entry, detected=tuple(detector.detect_many(texts)))
        out.append(entry)
    return out


def test_local_and_worker_records_assemble_to_the_same_articles(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", FILES)
    entries = list(local_entries([folder], ReadOptions()))
    detector = Detector()
    local = assemble(entries, [folder], detector)  # type: ignore[arg-type]
    remote = assemble(_as_workers_send(entries), [folder])
    assert local == remote and detector.texts == 3
    ids = [a.id for a in local.articles]
    # an article stating its language is released at once; the others wait for their batch's detection
    assert ids == ["y", "x", "a/one.txt", "a/two.txt"]
    assert all(a.lang for a in local.articles)
    assert [s.reason for s in local.skipped] == ["duplicate article id 'x'"]


def test_nothing_readable_is_one_error_naming_the_sources(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"empty.txt": ""})
    with pytest.raises(NothingToIndexError, match=f"No readable article in {folder}"):
        assemble(local_entries([folder], ReadOptions()), [folder], Detector())  # type: ignore[arg-type]
