"""Structured exports: JSON Lines and CSV/TSV (streamed, one record at a time) and JSON documents.

Columns or keys map to our fields by name, or through ``ReadOptions.fields``: ``--field text=body`` applies
to every file (CSV) or record (JSON) that has a ``body`` column or key, and a file where it does not apply
is named in a ``Repaired`` notice; ``--field export.csv:text=body`` applies to that file only, and a CSV
without a column mapped for it (or without a text column at all) is skipped as a whole, naming the column and
listing the ones it has.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Generator, Iterator, Mapping
from typing import IO, Any

from ...models import Repaired, Skipped
from ...read_options import FIELDS, FieldMap, ReadOptions
from . import Item, sniff_encoding

# How much of a streamed file is looked at to choose its character set.
_SNIFF_BYTES = 1 << 16
_DELIMITERS = (",", ";", "\t", "|")
# JSON nested deeper than Python's recursion limit (an article is a flat object, so this is never one).
_TOO_DEEP = "JSON nested too deeply to be an article (thousands of levels)"
# How much of an over-long line is read at a time while it is thrown away.
_DISCARD_CHUNK = 1 << 20


class _Overlong(Exception):
    """A record ran past the per-record cap (its current line has been read to its end and dropped)."""


class _BoundedLines:
    """Lines of a text stream, never one read whole past ``cap`` characters: a record (one line, or several
    for a quoted CSV field) that grows past the cap raises ``_Overlong`` once the rest of its current line is
    discarded in chunks; ``reset`` starts the count for the next record."""

    def __init__(self, text: IO[str], cap: int) -> None:
        self.text, self.cap, self.used = text, cap, 0

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.cap - self.used + 1)
        if not line:
            raise StopIteration
        self.used += len(line)
        if self.used > self.cap:
            while line and not line.endswith(("\n", "\r")):
                line = self.text.readline(_DISCARD_CHUNK)
            self.used = 0
            raise _Overlong
        return line

    def reset(self) -> None:
        self.used = 0


def _overlong(where: str, options: ReadOptions, what: str) -> Skipped:
    return Skipped(where, f"{what} is longer than {options.max_document_bytes >> 20} MB, the limit for one record; "
                          "split the article or shorten the field")  # fmt: skip


def read_jsonl(stream: IO[bytes], rel: str, options: ReadOptions, delimiter: str = ",") -> Iterator[Item]:
    """One record per line; a bad line (or one longer than the per-record cap, never read whole) is
    skipped by number, the rest go on."""
    text = yield from _opened(stream, rel)
    if text is None:
        return
    lines = _BoundedLines(text, options.max_document_bytes)
    mapped = _Mapped(options.mapping(rel))
    lineno = 0
    while True:
        lineno += 1
        try:
            line = next(lines)
        except StopIteration:
            yield from mapped.notices(rel)
            return
        except _Overlong:
            yield _overlong(f"{rel}#{lineno}", options, f"line {lineno}")
            continue
        lines.reset()
        if line.strip():
            yield mapped.record(line.rstrip("\r\n"), f"{rel}#{lineno}")


def read_csv(stream: IO[bytes], rel: str, options: ReadOptions, delimiter: str = ",") -> Iterator[Item]:
    """One record per row; the header names the columns (separated by , ; tab or |, whichever it uses).
    A row longer than the per-record cap is skipped by number without being read whole."""
    text = yield from _opened(stream, rel)
    if text is None:
        return
    csv.field_size_limit(options.max_document_bytes)
    lines = _BoundedLines(text, options.max_document_bytes)
    try:
        header = next(lines, "")
    except _Overlong:
        yield _overlong(rel, options, "the header line")
        return
    lines.reset()
    if delimiter == ",":  # many exports use ";" (European locales) or "|": the header line tells
        delimiter = max(_DELIMITERS, key=header.count) if any(d in header for d in _DELIMITERS) else ","
    reader = csv.DictReader(itertools.chain([header], lines), delimiter=delimiter)
    try:
        columns = reader.fieldnames or []
    except csv.Error as exc:
        yield Skipped(rel, f"unreadable CSV: {exc}")
        return
    fields = options.mapping(rel)
    keys = fields.keys(columns)
    missing = [f"{column!r} (for {name})" for name, column in fields.own.items() if column not in columns]
    if not missing and keys["text"] not in columns:
        tried = [fields.shared["text"]] if "text" in fields.shared else []
        missing = [f"{' or '.join(map(repr, [*tried, keys['text']]))} (for text)"]
    if missing:
        yield Skipped(rel, f"no column {', '.join(missing)}; its columns are {', '.join(map(repr, columns))}. "
                           "Map them with --field text=COLUMN")  # fmt: skip
        return
    left_out = [f"--field {name}={column} left out (no column {column!r}; {name} read from {name!r})"
                for name, column in fields.left_out(columns)]  # fmt: skip
    if left_out:
        yield Repaired(rel, "; ".join(left_out))
    rowno = 1
    while True:
        rowno += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except _Overlong:  # the rest of its line is gone: go on from the next line with a fresh parser
            yield _overlong(f"{rel}#{rowno}", options, f"row {rowno}")
            reader = csv.DictReader(lines, fieldnames=columns, delimiter=delimiter)
            continue
        except csv.Error as exc:
            yield Skipped(f"{rel}#{rowno}", f"unreadable CSV from here on: {exc}")
            return
        lines.reset()
        yield _record(row, f"{rel}#{rowno}", keys)


def read_json(content: str, rel: str, options: ReadOptions) -> Iterator[Item]:
    """One object, a list of them, or {"articles": [...]}."""
    try:
        doc = json.loads(content)
    except json.JSONDecodeError as exc:
        yield Skipped(rel, f"invalid JSON: {exc.msg} at line {exc.lineno}")
        return
    except RecursionError:
        yield Skipped(rel, _TOO_DEEP)
        return
    items = doc.get("articles", doc) if isinstance(doc, dict) else doc
    items = items if isinstance(items, list) else [items]
    mapped = _Mapped(options.mapping(rel))
    for n, obj in enumerate(items, start=1):
        yield mapped.record(obj, f"{rel}#{n}" if len(items) > 1 else rel)
    yield from mapped.notices(rel)


class _Mapped:
    """JSON records read through one file's field mappings, each shared mapping applied to the records that
    have its key; ``notices`` names the mappings left out of some or all of them."""

    def __init__(self, fields: FieldMap) -> None:
        self.fields, self.records = fields, 0
        self.left_out: dict[tuple[str, str], int] = {}

    def record(self, obj: Any, where: str) -> Item:
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError as exc:
                return Skipped(where, f"invalid JSON: {exc.msg}")
            except RecursionError:
                return Skipped(where, _TOO_DEEP)
        if not isinstance(obj, dict):
            return Skipped(where, "expected a JSON object with at least a 'text' field")
        self.records += 1
        for mapping in self.fields.left_out(obj):
            self.left_out[mapping] = self.left_out.get(mapping, 0) + 1
        return _record(obj, where, self.fields.keys(obj))

    def notices(self, rel: str) -> Iterator[Repaired]:
        """One notice naming every shared mapping left out of some of this file's records, if any was."""
        parts = []
        for (name, column), n in self.left_out.items():
            which = "no record has" if n == self.records else f"{n} of {self.records} records have no"
            parts.append(f"--field {name}={column} left out where it does not apply ({which} key {column!r}; "
                         f"{name} read from {name!r} there)")  # fmt: skip
        if parts:
            yield Repaired(rel, "; ".join(parts))


def _record(obj: Mapping[str, Any], where: str, keys: Mapping[str, str]) -> Item:
    """The record of one CSV row or JSON object, each field read from its column or key in ``keys``."""
    record = {name: obj.get(keys[name]) for name in FIELDS}
    bad = [k for k, v in record.items() if v is not None and not isinstance(v, (str, int, float))]
    if bad:
        return Skipped(where, f"field(s) {', '.join(bad)} must be strings")
    text = str(record["text"] or "")
    if not text.strip():
        return Skipped(where, f"no text (field {keys['text']!r})")
    out = {k: (str(v).strip() or None if v is not None else None) for k, v in record.items()}
    out["text"] = text
    out["id"] = out["id"] or where
    out["path"] = where
    return out


def _opened(stream: IO[bytes], rel: str) -> Generator[Item, None, IO[str] | None]:
    """The decoded text stream (None when the file cannot be read), yielding any notice about it first."""
    text = _text_stream(stream, rel)
    if isinstance(text, Skipped):
        yield text
        return None
    lines, note = text
    if note:
        yield note
    return lines


def _text_stream(stream: IO[bytes], rel: str) -> tuple[IO[str], Repaired | None] | Skipped:
    """Lines of a byte stream decoded lazily (newlines kept, for CSV's quoted fields); the character set is
    chosen from its first 64 KB."""
    buffered: Any = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    head = buffered.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
    chosen = sniff_encoding(head, rel, partial=True)
    if isinstance(chosen, Skipped):
        return chosen
    encoding, note = chosen
    return io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline=""), note
