"""Structured exports: JSON Lines and CSV/TSV (streamed, one record at a time) and JSON documents.

Columns or keys map to our fields by name, or through ``ReadOptions.fields`` (``--field text=body``).
A CSV without a mapped column is skipped as a whole, naming the column and listing the ones it has.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Generator, Iterator
from typing import IO, Any

from index.formats import FIELDS, Item, ReadOptions, sniff_encoding
from index.records import Repaired, Skipped

# How much of a streamed file is looked at to choose its character set.
_SNIFF_BYTES = 1 << 16
_DELIMITERS = (",", ";", "\t", "|")
# JSON nested deeper than Python's recursion limit (an article is a flat object, so this is never one).
_TOO_DEEP = "JSON nested too deeply to be an article (thousands of levels)"


def read_jsonl(stream: IO[bytes], rel: str, options: ReadOptions, delimiter: str = ",") -> Iterator[Item]:
    """One record per line; a bad line is skipped by number, the rest go on."""
    lines = yield from _opened(stream, rel)
    if lines is None:
        return
    for lineno, line in enumerate(lines, start=1):
        if line.strip():
            yield _record(line.rstrip("\r\n"), rel, f"{rel}#{lineno}", options)


def read_csv(stream: IO[bytes], rel: str, options: ReadOptions, delimiter: str = ",") -> Iterator[Item]:
    """One record per row; the header names the columns (separated by , ; tab or |, whichever it uses)."""
    lines = yield from _opened(stream, rel)
    if lines is None:
        return
    csv.field_size_limit(min(sys.maxsize, 1 << 31))
    header = lines.readline()
    if delimiter == ",":  # many exports use ";" (European locales) or "|": the header line tells
        delimiter = max(_DELIMITERS, key=header.count) if any(d in header for d in _DELIMITERS) else ","
    reader = csv.DictReader(itertools.chain([header], lines), delimiter=delimiter)
    try:
        columns = reader.fieldnames or []
    except csv.Error as exc:
        yield Skipped(rel, f"unreadable CSV: {exc}")
        return
    mapped = {name: options.key(name) for name in FIELDS}
    missing = [f"{source!r} (for {name})" for name, source in options.fields.items() if source not in columns]
    if not missing and mapped["text"] not in columns:
        missing = [f"{mapped['text']!r} (for text)"]
    if missing:
        yield Skipped(rel, f"no column {', '.join(missing)}; its columns are {', '.join(map(repr, columns))}. "
                           "Map them with --field text=COLUMN")  # fmt: skip
        return
    try:
        for rowno, row in enumerate(reader, start=2):
            yield _record(row, rel, f"{rel}#{rowno}", options)
    except csv.Error as exc:
        yield Skipped(f"{rel}#{reader.line_num}", f"unreadable CSV from here on: {exc}")


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
    for n, obj in enumerate(items, start=1):
        yield _record(obj, rel, f"{rel}#{n}" if len(items) > 1 else rel, options)


def _record(obj: Any, rel: str, where: str, options: ReadOptions) -> Item:
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            return Skipped(where, f"invalid JSON: {exc.msg}")
        except RecursionError:
            return Skipped(where, _TOO_DEEP)
    if not isinstance(obj, dict):
        return Skipped(where, "expected a JSON object with at least a 'text' field")
    record = {name: obj.get(options.key(name)) for name in FIELDS}
    bad = [k for k, v in record.items() if v is not None and not isinstance(v, (str, int, float))]
    if bad:
        return Skipped(where, f"field(s) {', '.join(bad)} must be strings")
    text = str(record["text"] or "")
    if not text.strip():
        return Skipped(where, f"no text (field {options.key('text')!r})")
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
