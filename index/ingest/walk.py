"""Read articles from files and folders in every supported format (see ``index.ingest.formats``).

Folders are read recursively in name order; hidden files and the patterns of a folder's
``.semsearchignore`` are left out. Plain-text files of one folder are read twice: first to find the
lines they all repeat (a source's boilerplate), then to read them without those lines.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path
from typing import Any

from ..hashing import text_hash
from ..models import Article, Repaired, Skipped
from .cleaning import RepeatedLines, has_surrogates, normalise, strip_chrome, without_surrogates
from .dates import parse_date
from .formats import ARCHIVE_SUFFIXES, STREAMED_SUFFIXES, TEXT_SUFFIXES, ReadOptions, decode, read, too_large
from .formats.text import split_title
from .language import LanguageDetector

__all__ = [
    "IGNORE_FILE",
    "ReadGroup",
    "articles_from_records",
    "finish_record",
    "group_boilerplate",
    "iter_articles",
    "read_group",
    "read_groups",
    "split_title",
]

IGNORE_FILE = ".semsearchignore"
# Articles whose language is detected together (in parallel).
DETECT_BATCH = 256


def iter_articles(
    paths: Iterable[Path],
    detector: LanguageDetector | None = None,
    options: ReadOptions | None = None,
    *,
    follow_links: bool = False,
) -> Iterator[Article | Skipped | Repaired]:
    """Every article under ``paths`` (files or folders, recursively); a Skipped for what could not be
    read and a Repaired for what was read differently from how it was written, each naming the input.
    ``follow_links``: also read what links leading outside a folder given point to."""
    detector = detector or LanguageDetector()
    options = options or ReadOptions()
    seen: set[str] = set()
    pending: list[Article] = []  # articles waiting for a batch of language detection
    for item in _articles(paths, options, seen, follow_links):
        if not isinstance(item, Article):
            yield item
            continue
        if item.lang:
            yield item
            continue
        pending.append(item)
        if len(pending) >= DETECT_BATCH:
            yield from _with_languages(pending, detector)
            pending = []
    yield from _with_languages(pending, detector)


def articles_from_records(
    records: Iterable[dict[str, Any]], detector: LanguageDetector | None = None
) -> list[Article | Skipped | Repaired]:
    """Articles from records given directly (an API write): cleaned, dated and language-tagged like files."""
    detector = detector or LanguageDetector()
    out: list[Article | Skipped | Repaired] = []
    pending: list[Article] = []
    for n, record in enumerate(records, start=1):
        path = str(record.get("path") or record.get("id") or f"record#{n}")
        for item in finish_record({**record, "path": path, "id": record.get("id") or path}):
            if isinstance(item, Article) and not item.lang:
                pending.append(item)
            else:
                out.append(item)
    return out + list(_with_languages(pending, detector))


def _with_languages(articles: list[Article], detector: LanguageDetector) -> list[Article]:
    langs = detector.detect_many([f"{a.title}\n{a.text}" for a in articles])
    return [replace(a, lang=lang) for a, lang in zip(articles, langs)]


@dataclass(frozen=True)
class ReadGroup:
    """The files of one folder under one source root, read together: the folder's boilerplate is learnt from
    its own files. The unit a distributed build reads in one task."""

    base: Path  # article ids are paths relative to this
    files: tuple[Path, ...]


def read_groups(paths: Iterable[Path], follow_links: bool = False) -> Iterator[ReadGroup | Skipped]:
    """The sources as folder groups in reading order (a Skipped for a path that does not exist, and for a link
    leading outside its source folder unless ``follow_links``)."""
    for root in paths:
        if not root.exists():
            yield Skipped(str(root), "no such file or folder")
            continue
        base = root if root.is_dir() else root.parent
        found, skipped = _walk(root, follow_links)
        yield from skipped
        for _folder, files in groupby(found, key=lambda f: f.parent):
            yield ReadGroup(base, tuple(files))


def group_boilerplate(group: ReadGroup, options: ReadOptions) -> frozenset[str]:
    """Lines repeated across the group's plain-text files (its source's boilerplate)."""
    return _boilerplate(
        [f for f in group.files if f.suffix.lower() in TEXT_SUFFIXES and _size(f) <= options.max_document_bytes]
    )


def read_group(
    group: ReadGroup, options: ReadOptions, boilerplate: frozenset[str] | None = None
) -> Iterator[dict[str, Any] | Skipped | Repaired]:
    """The raw records of the group's files (before the duplicate-id check and ``finish_record``).
    ``boilerplate``: the whole folder's, when ``group`` holds only some of its files."""
    if boilerplate is None:
        boilerplate = group_boilerplate(group, options)
    for file in group.files:
        yield from _read_file(file, file.relative_to(group.base).as_posix(), options, boilerplate)


def _articles(
    paths: Iterable[Path], options: ReadOptions, seen: set[str], follow_links: bool
) -> Iterator[Article | Skipped | Repaired]:
    for group in read_groups(paths, follow_links):
        if isinstance(group, Skipped):
            yield group
            continue
        for item in read_group(group, options):
            if isinstance(item, (Skipped, Repaired)):
                yield item
            elif item["id"] in seen:
                yield Skipped(item["path"], f"duplicate article id {item['id']!r}")
            else:
                seen.add(item["id"])
                yield from finish_record(item)


def _walk(root: Path, follow_links: bool) -> tuple[list[Path], list[Skipped]]:
    """The files under ``root`` in reading order, and a Skipped for each link left out. Links (to files or
    folders) that resolve outside ``root`` are followed only with ``follow_links``; a file or folder reached
    through several paths (a link inside ``root``, a link cycle) is read once, by its own path when it has one."""
    if root.is_file():
        return [root], []
    patterns: list[str] = []
    ignore = root / IGNORE_FILE
    if ignore.is_file():
        lines = ignore.read_text(encoding="utf-8").splitlines()
        patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]
    top = root.resolve()
    walked = {top}
    found: dict[Path, list[Path]] = {}  # real path -> the paths under root that reach it
    skipped: list[Skipped] = []
    folders: list[Path] = [root]
    links: list[Path] = []  # folders to list; links to folders, walked after every real folder
    while folders or links:
        folder = folders.pop() if folders else links.pop(0)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            rel = path.relative_to(root).as_posix()
            if entry.name.startswith("."):
                continue
            is_link, is_dir = entry.is_symlink(), entry.is_dir()
            if not is_dir and any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(entry.name, p) for p in patterns):
                continue
            try:
                real = path.resolve(strict=True)
            except (OSError, RuntimeError):  # a broken link or a link loop
                continue
            if is_link and not follow_links and not real.is_relative_to(top):
                kind = "folder" if is_dir else "file"
                skipped.append(Skipped(rel, f"a link to a {kind} outside {root}; pass --follow-links to index it"))
            elif is_dir:
                if real not in walked:
                    walked.add(real)
                    (links if is_link else folders).append(path)
            elif entry.is_file():
                found.setdefault(real, []).append(path)
    # a file reached through links only is read by the first of its paths
    files = []
    for real, paths in found.items():
        own = [p for p in paths if top / p.relative_to(root) == real]
        files.append(own[0] if own else min(paths, key=lambda p: p.as_posix()))
    # files of one folder together, so a folder's boilerplate is learnt from its own files
    return sorted(files, key=lambda f: (f.parent.as_posix(), f.name)), skipped


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def _boilerplate(files: list[Path]) -> frozenset[str]:
    """Lines repeated across the text files of one folder."""
    counter = RepeatedLines()
    for file in files:
        try:
            decoded = decode(file.read_bytes(), file.name)
        except OSError:
            continue
        if isinstance(decoded, tuple):
            counter.add(normalise(decoded[0]))
    return counter.boilerplate()


def _read_file(
    file: Path, rel: str, options: ReadOptions, boilerplate: frozenset[str]
) -> Iterator[dict[str, Any] | Skipped | Repaired]:
    suffix = file.suffix.lower()
    if suffix not in STREAMED_SUFFIXES + ARCHIVE_SUFFIXES and _size(file) > options.max_document_bytes:
        yield too_large(rel, options)  # refused without reading a byte of it
        return
    yield from read(file.name, lambda: file.open("rb"), rel, options, boilerplate)


def finish_record(record: dict[str, Any]) -> Iterator[Article | Skipped | Repaired]:
    """A raw record as an Article: normalised, cleaned of site chrome, dated (language left to detection when
    the record does not give it); a Skipped when nothing but chrome is left."""
    broken = sorted(k for k, v in record.items() if isinstance(v, str) and has_surrogates(v))
    if broken:  # JSON's "\ud800" escapes: text no encoding can write, repaired rather than refused
        record = {k: without_surrogates(v) if k in broken else v for k, v in record.items()}
        yield Repaired(record["path"], f"invalid characters (lone UTF-16 surrogates) in {', '.join(broken)} "
                                       "replaced with U+FFFD")  # fmt: skip
    title = normalise(str(record.get("title") or "")).replace("\n", " ")
    text = strip_chrome(normalise(record["text"])).text.strip("\n")
    if not text.strip():
        yield Skipped(record["path"], "nothing but site chrome (menus, share buttons) in the text")
        return
    date, problem = parse_date(record.get("date"))
    if problem:
        yield Repaired(record["path"], problem)
    lang = (record.get("lang") or "").lower() or None  # None: detected in a batch by iter_articles
    yield Article(
        id=str(record["id"]),
        title=title,
        text=text,
        lang=lang,
        source=record.get("source") or None,
        url=record.get("url") or None,
        date=date,
        path=record["path"],
        content_hash=text_hash(title, text),
        author=record.get("author") or None,
    )
