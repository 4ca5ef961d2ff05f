"""How sources are read: which input columns or keys feed our fields, and how large a document may be.

At the package root because the settings (``Settings.read_options``) and the ingest stage both need it, and
settings sit below ingest."""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field

FIELDS = ("id", "title", "text", "url", "date", "lang", "source", "author")
# Single-document files larger than this are refused; in JSONL and CSV, which stream, it caps each record.
MAX_DOCUMENT_BYTES = 64 << 20


@dataclass(frozen=True)
class ReadOptions:
    """How to read records. ``fields`` maps our field names to the input's columns or keys: ``"text": "body"``
    for every file that has that column (one without it is read by the field's own name, and named), or
    ``"export.csv:text": "body"`` for the files of that name only (there the column must exist)."""

    fields: Mapping[str, str] = field(default_factory=dict)
    max_document_bytes: int = MAX_DOCUMENT_BYTES

    def mapping(self, rel: str) -> FieldMap:
        """The mappings for the file (or archive member) reported as ``rel``."""
        shared: dict[str, str] = {}
        own: dict[str, str] = {}
        for key, column in self.fields.items():
            target, _, name = key.rpartition(":")
            if not target:
                shared[name] = column
            elif names_file(target, rel):
                own[name] = column
        return FieldMap({k: v for k, v in shared.items() if k not in own}, own)


@dataclass(frozen=True)
class FieldMap:
    """One file's field mappings: ``own`` were given for this file (its columns must have them), ``shared``
    for every file (each applies where its column exists)."""

    shared: Mapping[str, str]
    own: Mapping[str, str]

    def keys(self, present: Container[str]) -> dict[str, str]:
        """Each of our fields -> the column or key it is read from, among the columns or keys ``present``."""
        return {name: self.own.get(name) or self._shared(name, present) for name in FIELDS}

    def left_out(self, present: Container[str]) -> list[tuple[str, str]]:
        """The shared mappings (field, column) that do not apply here: ``present`` lacks their column."""
        return [(name, column) for name, column in self.shared.items() if column not in present]

    def _shared(self, name: str, present: Container[str]) -> str:
        column = self.shared.get(name)
        return column if column is not None and column in present else name


def names_file(target: str, rel: str) -> bool:
    """Whether ``target`` (from ``--field TARGET:FIELD=COLUMN``) names the input ``rel``: its path, or its
    trailing path components, or those of an archive or of a member of one (``news.zip!export.csv``)."""
    target = target.strip("/")
    return any(part == target or part.endswith("/" + target) for part in (rel, *rel.split("!")))
