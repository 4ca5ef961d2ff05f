"""Input formats: one reader per kind of file, all yielding article records (plain dicts) or notices.

A record has ``text`` and any of ``id``, ``title``, ``url``, ``date``, ``lang``, ``source``,
``author``, plus ``path`` (where it came from). ``index.ingest.walk`` walks folders, calls ``read`` and
turns records into ``Article``s. Readers never load more than one document at a time into memory
except for single-document formats (text, HTML, JSON), whose size is capped.
"""

from __future__ import annotations

import functools
import gzip
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import PurePosixPath
from typing import IO, Any

from ...models import Repaired, Skipped
from ...read_options import ReadOptions

Record = dict[str, Any]
Item = Record | Skipped | Repaired
Opener = Callable[[], AbstractContextManager[IO[bytes]]]

TEXT_SUFFIXES = (".txt", ".md")
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
FEED_SUFFIXES = (".rss", ".atom", ".xml")
ARCHIVE_SUFFIXES = (".gz", ".zip")
# Read record by record, never whole: each record (line, CSV row) is capped at ``max_document_bytes``.
STREAMED_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + RECORD_SUFFIXES + HTML_SUFFIXES + FEED_SUFFIXES + ARCHIVE_SUFFIXES
# A compressed member (.gz, .zip) is refused once what it decompresses to passes both this many bytes and
# MAX_EXPANSION_RATIO times the compressed bytes read so far (a "zip bomb"; honest news text expands ~3-10x).
EXPANSION_FLOOR_BYTES = 64 << 20
MAX_EXPANSION_RATIO = 200
# How much of a single document is looked at to choose its character set.
_SNIFF_DOCUMENT = 1 << 20


def read(
    name: str, opener: Opener, rel: str, options: ReadOptions, boilerplate: frozenset[str] = frozenset()
) -> Iterator[Item]:
    """Records from one file (or archive member) named ``name``; ``rel`` is how it is reported.
    ``boilerplate``: lines a plain-text file's folder repeats, dropped from it."""
    suffix = PurePosixPath(name.lower()).suffix
    if suffix == ".gz":
        inner = name[: -len(".gz")]
        yield from read(inner, lambda: _gunzip(opener), rel, options)
        return
    if suffix == ".zip":
        yield from _zip_members(opener, rel, options)
        return
    try:
        yield from _read_plain(name, suffix, opener, rel, options, boilerplate)
    except ExpansionError as exc:
        yield Skipped(rel, str(exc))


def _read_plain(
    name: str, suffix: str, opener: Opener, rel: str, options: ReadOptions, boilerplate: frozenset[str]
) -> Iterator[Item]:
    if suffix not in SUPPORTED_SUFFIXES:
        yield Skipped(rel, f"unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED_SUFFIXES)}")
        return
    try:
        if suffix in STREAMED_SUFFIXES:
            from .records import read_csv, read_jsonl

            with opener() as stream:
                reader = read_jsonl if suffix in (".jsonl", ".ndjson") else read_csv
                yield from reader(stream, rel, options, delimiter="\t" if suffix == ".tsv" else ",")
            return
        with opener() as stream:
            raw = stream.read(options.max_document_bytes + 1)
    except ExpansionError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as exc:
        yield Skipped(rel, f"unreadable: {getattr(exc, 'strerror', None) or exc}")
        return
    if len(raw) > options.max_document_bytes:
        yield too_large(rel, options)
        return
    if suffix in HTML_SUFFIXES:
        from .html import read_html

        yield from read_html(raw, rel)
        return
    if suffix in FEED_SUFFIXES:
        from .feeds import read_feed

        yield from read_feed(raw, rel, allow_other_xml=suffix == ".xml")
        return
    decoded = decode(raw, rel)
    if not isinstance(decoded, tuple):
        yield decoded
        return
    content, note = decoded
    if note:
        yield note
    if suffix == ".json":
        from .records import read_json

        yield from read_json(content, rel, options)
    else:
        from .text import read_text

        yield read_text(content, rel, markdown=suffix == ".md", boilerplate=boilerplate)


class ExpansionError(OSError):
    """A compressed member decompressing to far more than it could honestly hold."""


class _Counted(io.RawIOBase):
    """A byte stream that counts what is read from it."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self.stream, self.count = stream, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _Expanding(_Counted):
    """Decompressed bytes, counted as they stream: past EXPANSION_FLOOR_BYTES and MAX_EXPANSION_RATIO times
    ``compressed()`` (the compressed bytes behind them) reading stops with ``ExpansionError``."""

    def __init__(self, stream: IO[bytes], compressed: Callable[[], int]) -> None:
        super().__init__(stream)
        self.compressed = compressed

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer)
        packed = max(1, self.compressed())
        if self.count > EXPANSION_FLOOR_BYTES and self.count > MAX_EXPANSION_RATIO * packed:
            raise ExpansionError(
                f"decompresses to over {MAX_EXPANSION_RATIO} times its compressed size ({self.count >> 20} MB from "
                f"{packed >> 10} KB so far): refused as a compression bomb; decompress it yourself if it is genuine"
            )
        return n


@contextmanager
def _gunzip(opener: Opener) -> Iterator[IO[bytes]]:
    with opener() as raw:
        counted = _Counted(raw)
        with gzip.GzipFile(fileobj=counted) as stream:
            yield io.BufferedReader(_Expanding(stream, lambda: counted.count))  # type: ignore[arg-type]


@contextmanager
def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[IO[bytes]]:
    with archive.open(info) as stream:
        yield io.BufferedReader(_Expanding(stream, lambda: info.compress_size))


def too_large(rel: str, options: ReadOptions) -> Skipped:
    """The notice for a single document over ``options.max_document_bytes``."""
    return Skipped(rel, f"larger than {options.max_document_bytes >> 20} MB for one document; split it, or export "
                        "it as JSONL or CSV, which are streamed")  # fmt: skip


def _zip_members(opener: Opener, rel: str, options: ReadOptions) -> Iterator[Item]:
    try:
        with opener() as stream:
            data = stream if stream.seekable() else io.BytesIO(stream.read())
            with zipfile.ZipFile(data) as archive:
                for info in archive.infolist():
                    if info.is_dir() or any(p.startswith((".", "__MACOSX")) for p in info.filename.split("/")):
                        continue
                    member = functools.partial(_zip_member, archive, info)
                    yield from read(info.filename, member, f"{rel}!{info.filename}", options)
    except (OSError, zipfile.BadZipFile) as exc:
        yield Skipped(rel, f"unreadable zip archive: {exc}")


def sniff_encoding(sample: bytes, rel: str, *, partial: bool) -> tuple[str, Repaired | None] | Skipped:
    """The character set of a text that begins with ``sample``: UTF-8 (BOM or not), else the one a
    detector is confident of; empty and binary input refused. ``partial``: the text goes on after the
    sample, so a character cut at its end is not an error."""
    if not sample.strip():
        return Skipped(rel, "empty file")
    if b"\x00" in sample[:8192] and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Skipped(rel, "binary file, not text")
    try:
        sample.decode("utf-8-sig")
        return "utf-8-sig", None
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(sample) - 4:
            return "utf-8-sig", None
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or best.encoding is None:
        return Skipped(rel, "not UTF-8 and no other character set fits; convert it to UTF-8")
    return best.encoding, Repaired(rel, f"not UTF-8; decoded as {best.encoding}")


def decode(raw: bytes, rel: str) -> tuple[str, Repaired | None] | Skipped:
    """Text from bytes, in the character set ``sniff_encoding`` finds in its first MB."""
    chosen = sniff_encoding(raw[:_SNIFF_DOCUMENT], rel, partial=len(raw) > _SNIFF_DOCUMENT)
    if isinstance(chosen, Skipped):
        return chosen
    encoding, note = chosen
    try:
        return raw.decode(encoding), note
    except (UnicodeDecodeError, LookupError):
        return Skipped(rel, f"not valid {encoding} throughout; convert it to UTF-8")
