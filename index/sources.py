"""Read articles from files and folders: ``.txt``, ``.md``, ``.jsonl`` and ``.json``."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from index.fingerprint import text_hash
from index.language import LanguageDetector
from index.records import Article, Skipped

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl", ".json")
IGNORE_FILE = ".semsearchignore"
# A first line this short is a title even without a blank line after it.
SHORT_TITLE_CHARS = 120
_FIELDS = ("id", "title", "text", "url", "date", "lang", "source")


def iter_articles(paths: Iterable[Path], detector: LanguageDetector | None = None) -> Iterator[Article | Skipped]:
    """Yield every article under ``paths`` (files or folders, recursively), or a Skipped saying why not."""
    detector = detector or LanguageDetector()
    seen: set[str] = set()
    for root in paths:
        if not root.exists():
            yield Skipped(str(root), "no such file or folder")
            continue
        base = root if root.is_dir() else root.parent
        for file in _walk(root):
            rel = file.relative_to(base).as_posix()
            for item in _read_file(file, rel):
                if isinstance(item, Skipped):
                    yield item
                    continue
                if item["id"] in seen:
                    yield Skipped(item["path"], f"duplicate article id {item['id']!r}")
                    continue
                seen.add(item["id"])
                yield _finish(item, detector)


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    patterns: list[str] = []
    ignore = root / IGNORE_FILE
    if ignore.is_file():
        lines = ignore.read_text(encoding="utf-8").splitlines()
        patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not file.is_file():
            continue
        if any(fnmatch.fnmatch(rel.as_posix(), p) or fnmatch.fnmatch(file.name, p) for p in patterns):
            continue
        yield file


def _read_file(file: Path, rel: str) -> Iterator[dict[str, Any] | Skipped]:
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield Skipped(rel, f"unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED_SUFFIXES)}")
        return
    try:
        raw = file.read_bytes()
    except OSError as exc:
        yield Skipped(rel, f"unreadable: {exc.strerror or exc}")
        return
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield Skipped(rel, "not UTF-8 text")
        return
    if not content.strip():
        yield Skipped(rel, "empty file")
        return
    if suffix in (".txt", ".md"):
        title, text = split_title(content, markdown=suffix == ".md")
        if not text.strip():
            yield Skipped(rel, "no text after the title")
            return
        yield {"id": rel, "title": title, "text": text, "path": rel}
    elif suffix == ".jsonl":
        for lineno, line in enumerate(content.splitlines(), start=1):
            if line.strip():
                yield _record_from_json(line, rel, f"{rel}#{lineno}")
    else:
        yield from _records_from_json_document(content, rel)


def _records_from_json_document(content: str, rel: str) -> Iterator[dict[str, Any] | Skipped]:
    try:
        doc = json.loads(content)
    except json.JSONDecodeError as exc:
        yield Skipped(rel, f"invalid JSON: {exc.msg} at line {exc.lineno}")
        return
    items = doc.get("articles", doc) if isinstance(doc, dict) else doc
    items = items if isinstance(items, list) else [items]
    for n, obj in enumerate(items, start=1):
        yield _record_from_json(obj, rel, f"{rel}#{n}" if len(items) > 1 else rel)


def _record_from_json(obj: Any, rel: str, where: str) -> dict[str, Any] | Skipped:
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            return Skipped(where, f"invalid JSON: {exc.msg}")
    if not isinstance(obj, dict):
        return Skipped(where, "expected a JSON object with at least a 'text' field")
    record = {k: obj.get(k) for k in _FIELDS}
    bad = [k for k, v in record.items() if v is not None and not isinstance(v, (str, int))]
    if bad:
        return Skipped(where, f"field(s) {', '.join(bad)} must be strings")
    text = str(record["text"] or "")
    if not text.strip():
        return Skipped(where, "no 'text'")
    record = {k: (str(v).strip() if v is not None else None) for k, v in record.items()}
    record["text"] = text
    record["id"] = record["id"] or where
    record["path"] = where
    return record


def split_title(content: str, *, markdown: bool = False) -> tuple[str, str]:
    """Split a text file into (title, body); the title is empty when the first line is not one."""
    lines = content.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return "", ""
    head = lines[first].strip()
    is_heading = markdown and head.startswith("#")
    followed_by_blank = first + 1 < len(lines) and not lines[first + 1].strip()
    if is_heading or followed_by_blank or (len(head) <= SHORT_TITLE_CHARS and first + 1 < len(lines)):
        title = head.lstrip("#").strip() if is_heading else head
        return title, "".join(lines[first + 1 :]).strip("\n")
    return "", content.strip("\n")


def _finish(record: dict[str, Any], detector: LanguageDetector) -> Article:
    title = record.get("title") or ""
    text = record["text"].strip("\n")
    lang = (record.get("lang") or "").lower() or detector.detect(f"{title}\n{text}")
    return Article(
        id=record["id"],
        title=title,
        text=text,
        lang=lang,
        source=record.get("source"),
        url=record.get("url"),
        date=record.get("date"),
        path=record["path"],
        content_hash=text_hash(title, text),
    )
