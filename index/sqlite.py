"""SQLite helpers shared by the stages that keep a database: the index's store and the embedding cache."""

from __future__ import annotations

import urllib.parse
from pathlib import Path


def read_only_uri(path: Path) -> str:
    """A ``file:`` URI that opens ``path`` read-only; the path is percent-encoded, so a ``#``, ``?`` or ``%`` in a
    folder name stays part of the path instead of starting SQLite's query string or fragment."""
    return f"file:{urllib.parse.quote(str(Path(path).absolute()))}?mode=ro"
