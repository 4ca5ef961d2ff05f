"""The embedding cache: passage vectors kept across builds, keyed by (model fingerprint, encoder backend,
exact text embedded, sentence spans), so nothing is encoded twice — rebuilds into a new folder, re-chunking
experiments whose passages come out unchanged, and builds of overlapping corpora reuse them.

One SQLite file under ``<home>/cache``. Each entry holds the passage vector (float32, exact) and its
sentence vectors (float16, as the index stores them) with a CRC-32 of both: an entry that fails its check
is dropped and recomputed. The cache has a size bound: past it, the least recently used entries go.
A cache that cannot be opened or written (read-only folder, full disk) is switched off for the rest of
the build with a notice; the build itself goes on.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..hashing import text_hash
from ..sqlite import read_only_uri

CACHE_FILE = "embeddings.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    backend TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    sentences BLOB NOT NULL,
    crc INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_used ON vectors (used);
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO totals VALUES ('bytes', 0);
"""
_ROW_OVERHEAD = 120  # key, columns and index entry, roughly
_LOOKUP_CHUNK = 500  # keys per SELECT (SQLite's parameter limit is 999 on old builds)

Encoded = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class CacheStats:
    """What the cache holds."""

    path: Path
    entries: int
    bytes: int
    max_bytes: int
    by_model: dict[str, int]  # "fingerprint backend" -> entries


def cache_key(fingerprint: str, backend: str, embed_hash: str, spans: Sequence[tuple[int, int]]) -> str:
    """The key of one embedded text: the weights, how they ran, the text (by its ``text_hash``, computed once
    per build) and its sentence spans."""
    return text_hash(fingerprint, backend, embed_hash, ",".join(f"{s}:{e}" for s, e in spans))


class EmbeddingCache:
    """Vectors by key for one (fingerprint, backend); see the module docstring."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        fingerprint: str,
        backend: str,
        max_bytes: int,
        dimension: int = 0,
    ):
        self._db = connection
        self.dimension = dimension
        self.path = path
        self.fingerprint = fingerprint
        self.backend = backend
        self.max_bytes = max_bytes
        self.enabled = True
        self.notices: list[str] = []
        self.hits = 0
        self.corrupt = 0
        self.stored = 0

    @classmethod
    def open(
        cls, folder: Path, fingerprint: str, backend: str, max_bytes: int, dimension: int = 0
    ) -> EmbeddingCache | str:
        """The cache in ``folder``, or a notice saying why the build runs without one."""
        path = folder / CACHE_FILE
        try:
            folder.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            return f"embedding cache at {path} cannot be used ({exc}); building without it"
        return cls(db, path, fingerprint, backend, max_bytes, dimension)

    def key(self, embed_hash: str, spans: Sequence[tuple[int, int]]) -> str:
        """This cache's key for the text of ``embed_hash`` (its ``text_hash``) with ``spans``."""
        return cache_key(self.fingerprint, self.backend, embed_hash, spans)

    def has_many(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the cache holds, without reading the vectors (a Ray build ships only the others to
        its workers; an entry found corrupt later by ``get_many`` is then encoded by the driver)."""
        found: set[str] = set()
        unique = list(dict.fromkeys(keys))
        if not self.enabled or not unique:
            return found
        try:
            for start in range(0, len(unique), _LOOKUP_CHUNK):
                part = unique[start : start + _LOOKUP_CHUNK]
                rows = self._db.execute(f"SELECT key FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
                found.update(key for (key,) in rows.fetchall())
        except sqlite3.Error as exc:
            self._disable(exc)
        return found

    def get_many(self, keys: Sequence[str]) -> dict[str, Encoded]:
        """The entries found for ``keys``; corrupt ones are dropped (and so recomputed by the caller)."""
        found: dict[str, Encoded] = {}
        if not self.enabled or not keys:
            return found
        unique = list(dict.fromkeys(keys))
        bad: list[str] = []
        try:
            for start in range(0, len(unique), _LOOKUP_CHUNK):
                part = unique[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT key, dim, vector, sentences, crc FROM vectors WHERE key IN ({marks})", part
                ).fetchall()
                for key, dim, vector, sentences, crc in rows:
                    if self.dimension and dim != self.dimension:
                        continue  # another model under the same fingerprint (a misreporting embedder): a miss
                    decoded = _decode(dim, vector, sentences, crc)
                    if decoded is None:
                        bad.append(key)
                    else:
                        found[key] = decoded
            if found:
                now = time.time()
                self._db.executemany("UPDATE vectors SET used = ? WHERE key = ?", [(now, k) for k in found])
            if bad:
                self._delete(bad)
        except sqlite3.Error as exc:
            self._disable(exc)
        self.hits += len(found)
        self.corrupt += len(bad)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray, np.ndarray]]) -> None:
        """Store (key, vector, sentence vectors) entries, then trim to the size bound."""
        if not self.enabled:
            return
        now = time.time()
        rows = []
        for key, vector, sentences in items:
            v = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
            s = np.ascontiguousarray(sentences, dtype=np.float16).tobytes()
            rows.append((key, self.fingerprint, self.backend, len(vector), v, s, zlib.crc32(v + s),
                         len(v) + len(s) + len(key) + _ROW_OVERHEAD, now))  # fmt: skip
        if not rows:
            return
        try:
            with self._transaction():
                self._db.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (key TEXT PRIMARY KEY)")
                self._db.execute("DELETE FROM incoming")
                self._db.executemany("INSERT OR IGNORE INTO incoming VALUES (?)", [(r[0],) for r in rows])
                replaced = self._db.execute(
                    "SELECT COALESCE(SUM(bytes), 0) FROM vectors WHERE key IN (SELECT key FROM incoming)"
                ).fetchone()[0]
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                added = sum(r[7] for r in {r[0]: r for r in rows}.values())
                self._db.execute("UPDATE totals SET value = value + ? WHERE name = 'bytes'", (added - replaced,))
            self.stored += len(rows)
            self._trim()
        except sqlite3.Error as exc:
            self._disable(exc)

    def _trim(self) -> None:
        total = self._total()
        if total <= self.max_bytes:
            return
        goal = int(self.max_bytes * 0.9)  # trim a little further, so the next build does not trim again at once
        with self._transaction():
            while total > goal:
                rows = self._db.execute("SELECT key, bytes FROM vectors ORDER BY used LIMIT 1000").fetchall()
                if not rows:
                    break
                victims = []
                for key, size in rows:  # the least recently used, until enough is freed
                    victims.append(key)
                    total -= size
                    if total <= goal:
                        break
                self._db.executemany("DELETE FROM vectors WHERE key = ?", [(k,) for k in victims])
            self._db.execute("UPDATE totals SET value = ? WHERE name = 'bytes'", (max(0, total),))

    def _delete(self, keys: Sequence[str]) -> None:
        with self._transaction():
            for key in keys:
                row = self._db.execute("SELECT bytes FROM vectors WHERE key = ?", (key,)).fetchone()
                if row:
                    self._db.execute("DELETE FROM vectors WHERE key = ?", (key,))
                    self._db.execute("UPDATE totals SET value = value - ? WHERE name = 'bytes'", (row[0],))

    def _total(self) -> int:
        return int(self._db.execute("SELECT value FROM totals WHERE name = 'bytes'").fetchone()[0])

    @contextlib.contextmanager
    def _transaction(self):  # type: ignore[no-untyped-def]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _disable(self, exc: Exception) -> None:
        self.enabled = False
        self.notices.append(f"embedding cache at {self.path} stopped ({exc}); the build goes on without caching")

    def close(self) -> None:
        """Close the database."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()


def _decode(dim: int, vector: bytes, sentences: bytes, crc: int) -> Encoded | None:
    if zlib.crc32(vector + sentences) != crc or len(vector) != 4 * dim or len(sentences) % (2 * dim):
        return None
    v = np.frombuffer(vector, dtype=np.float32).copy()
    s = np.frombuffer(sentences, dtype=np.float16).astype(np.float32).reshape(-1, dim)
    return v, s


def cache_stats(folder: Path, max_bytes: int) -> CacheStats:
    """What the cache in ``folder`` holds (an empty report when there is none)."""
    path = folder / CACHE_FILE
    if not path.is_file():
        return CacheStats(path, 0, 0, max_bytes, {})
    db = sqlite3.connect(read_only_uri(path), uri=True, timeout=30)
    try:
        by_model = {
            f"{fp} {backend}": n
            for fp, backend, n in db.execute("SELECT fingerprint, backend, COUNT(*) FROM vectors GROUP BY 1, 2")
        }
        total = db.execute("SELECT value FROM totals WHERE name = 'bytes'").fetchone()
    finally:
        db.close()
    return CacheStats(path, sum(by_model.values()), int(total[0]) if total else 0, max_bytes, by_model)


def clear_cache(folder: Path) -> int:
    """Delete the cache in ``folder``; returns the bytes freed on disk."""
    freed = 0
    for suffix in ("", "-wal", "-shm"):
        path = folder / (CACHE_FILE + suffix)
        if path.exists():
            freed += path.stat().st_size
            path.unlink()
    return freed
