"""Reading for a build: sources in, articles out, by one assembler whatever produced the records.

A local build reads every folder group here; a Ray build reads them on workers (``ray.py``). Either way the
records arrive in reading order and ``assemble`` turns them into the build's articles the same way: a
repeated article id skipped, articles without a stated language released in batches of DETECT_BATCH once
their language is known (detected by the producer, or here), and one error when nothing is readable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import NothingToIndexError
from ..ingest.formats import ReadOptions
from ..ingest.language import LanguageDetector
from ..ingest.walk import DETECT_BATCH, finish_record, read_group, read_groups
from ..models import Article, Notices, Repaired, Skipped
from .report import BuildProgress, ProgressCallback, silent


@dataclass(frozen=True)
class Record:
    """One raw record, finished: its raw id (for the duplicate check) and path, what finishing it gave, and, when
    its producer detected them, the languages of its articles that did not state one (in order)."""

    raw_id: str
    path: str
    items: tuple[Article | Skipped | Repaired, ...]
    detected: tuple[str | None, ...] | None = None  # None: detected by the assembler


Entry = Skipped | Repaired | Record


@dataclass(frozen=True)
class Ingested:
    """What reading gave: the articles in reading order, and what was skipped or repaired on the way."""

    articles: list[Article]
    skipped: list[Skipped] = field(default_factory=Notices)
    repaired: list[Repaired] = field(default_factory=Notices)


def finished(record: dict[str, object], detected: tuple[str | None, ...] | None = None) -> Record:
    """A raw record of ``read_group`` as a Record."""
    return Record(str(record["id"]), str(record["path"]), tuple(finish_record(record)), detected)


def local_entries(sources: Iterable[Path], options: ReadOptions, follow_links: bool = False) -> Iterator[Entry]:
    """The entries of ``sources`` read here, in reading order."""
    for group in read_groups(sources, follow_links):
        if isinstance(group, Skipped):
            yield group
            continue
        for item in read_group(group, options):
            yield item if isinstance(item, (Skipped, Repaired)) else finished(item)


def read_sources(sources: list[Path], options: ReadOptions, follow_links: bool, notify: ProgressCallback) -> Ingested:
    """Every article of ``sources``, read here."""
    return assemble(local_entries(sources, options, follow_links), sources, LanguageDetector(), notify)


def assemble(
    entries: Iterable[Entry],
    sources: Sequence[Path],
    detector: LanguageDetector | None = None,
    notify: ProgressCallback = silent,
) -> Ingested:
    """The articles of ``entries`` (in reading order) as a build reads them; NothingToIndexError when there is
    none. ``detector``: detects the languages the producer left undetected."""
    out = Ingested([])
    seen: set[str] = set()
    pending: list[Article] = []  # waiting for their language, released in batches

    def release(batch: list[Article]) -> None:
        if not batch:
            return
        if detector is not None and any(a.lang is None for a in batch):
            langs = detector.detect_many([f"{a.title}\n{a.text}" for a in batch])
            batch = [replace(a, lang=lang) for a, lang in zip(batch, langs)]
        out.articles.extend(batch)
        notify(BuildProgress("read", len(out.articles), None))

    for entry in entries:
        if not isinstance(entry, Record):
            _note(out, entry)
            continue
        if entry.raw_id in seen:
            out.skipped.append(Skipped(entry.path, f"duplicate article id {entry.raw_id!r}"))
            continue
        seen.add(entry.raw_id)
        detected = iter(entry.detected) if entry.detected is not None else None
        for item in entry.items:
            if isinstance(item, Article) and not item.lang:
                pending.append(item if detected is None else replace(item, lang=next(detected)))
                if len(pending) >= DETECT_BATCH:
                    release(pending)
                    pending = []
            elif isinstance(item, Article):
                release([item])
            else:
                _note(out, item)
    release(pending)
    if not out.articles:
        raise _nothing_to_index(sources, out.skipped)
    return out


def _note(out: Ingested, item: Skipped | Repaired) -> None:
    if isinstance(item, Skipped):
        out.skipped.append(item)
    else:
        out.repaired.append(item)


def _nothing_to_index(sources: Sequence[Path], skipped: list[Skipped]) -> NothingToIndexError:
    reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5]) or "no files found"
    return NothingToIndexError(
        f"No readable article in {', '.join(map(str, sources))} ({reasons}). "
        "Point `semsearch build` at text, Markdown, HTML, RSS/Atom, JSON Lines, JSON or CSV files "
        "(or .gz/.zip of them)."
    )
