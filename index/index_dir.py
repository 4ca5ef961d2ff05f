"""The index folder on disk: versions, the ``current`` pointer swapped atomically, and opening one.

Layout: ``INDEX/current`` is a symlink to ``INDEX/v-<time>-<n>/`` holding manifest, vectors and store.
A build writes a new version folder, then replaces the symlink with ``os.replace`` (atomic on POSIX),
so a reader sees the old index or the new one, never a mix; a crash mid-build leaves ``current`` alone.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.errors import IndexMismatchError, IndexNotFoundError, SemsearchError
from index.lexical import LEXICAL_DIR, LexicalIndex
from index.manifest import STORE_FILE, VECTORS_FILE, Manifest
from index.sentence_vectors import SentenceVectors
from index.store import Store
from index.vector_rows import MASKED_FILE, MEANS_FILE, LanguageMeans, VectorRows, centred_lookup
from index.vectors import FaissIndex, load_vector_index, parse_spec

CURRENT = "current"
LOCK_FILE = ".build.lock"
_VERSION_PREFIX = "v-"
_TMP_PREFIX = ".tmp-"
MMAP_MIN_BYTES = 1 << 30


@dataclass
class LoadedIndex:
    """An index opened for reading: its manifest, vectors and store."""

    folder: Path
    version: str
    manifest: Manifest
    vectors: FaissIndex
    store: Store
    lexical: LexicalIndex
    rows: VectorRows
    sentences: SentenceVectors
    means: LanguageMeans
    masked: np.ndarray


def current_version(index_dir: Path) -> Path:
    """The version folder ``current`` points to, or a clear error when there is none."""
    pointer = index_dir / CURRENT
    if not pointer.exists():
        if index_dir.is_dir() and any(index_dir.iterdir()) and not pointer.is_symlink():
            raise IndexNotFoundError(f"{index_dir} is not a semsearch index; pass --index with the right folder.")
        raise IndexNotFoundError(f"No index at {index_dir} — run `semsearch build <articles folder>` first.")
    return pointer.resolve()


def open_index(index_dir: Path, *, mmap: bool | None = None) -> LoadedIndex:
    """Open the current version of an index, checking manifest and file checksums.

    ``mmap`` maps IVF inverted lists (other types: their vectors) from disk instead of reading them into
    memory; by default it is on for IVF indexes over MMAP_MIN_BYTES (Flat and HNSW search faster from memory;
    an engine that searches a Milvus store maps them, as it never searches them).
    """
    folder = current_version(index_dir)
    manifest = Manifest.read(folder)
    manifest.verify_files(folder)
    spec = parse_spec(manifest.index_spec, 0, manifest.model.dimension, 0)
    if mmap is None:
        mmap = spec.kind == "IVF" and (folder / VECTORS_FILE).stat().st_size > MMAP_MIN_BYTES
    vectors = load_vector_index(folder / VECTORS_FILE, spec, manifest.model.dimension, mmap=mmap)
    rows = VectorRows.load(folder)
    means = LanguageMeans.load(folder / MEANS_FILE)
    masked = np.load(folder / MASKED_FILE)
    expected = manifest.passages + manifest.headlines
    if len(rows) != expected or len(vectors) != expected + len(masked):
        raise IndexMismatchError(f"{folder} holds {len(vectors)} vectors, its manifest {expected}; rebuild the index.")
    vectors.lookup = centred_lookup(rows, means)
    vectors.masked = masked
    store = Store(folder / STORE_FILE)
    try:
        store.check()
    except sqlite3.DatabaseError as exc:
        raise IndexMismatchError(
            f"The store in {folder} is unreadable ({exc}); rebuild with `semsearch build`."
        ) from exc
    lexical = LexicalIndex.load(folder / LEXICAL_DIR, mmap=True)
    if lexical.rows != len(rows):
        raise IndexMismatchError(
            f"{folder} has {lexical.rows} lexical rows for {len(rows)} vectors; rebuild the index."
        )
    sentences = SentenceVectors.load(folder)
    if len(sentences.offsets) != len(rows) + 1:
        raise IndexMismatchError(f"{folder} has sentence vectors for {len(sentences.offsets) - 1} rows, not {len(rows)}; "
                                 "rebuild the index.")  # fmt: skip
    return LoadedIndex(folder, folder.name, manifest, vectors, store, lexical, rows, sentences, means, masked)


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the index folder so two builds never interleave."""
    _check_writable_target(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK_FILE).open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SemsearchError(f"Another build is writing {index_dir}; wait for it to finish.") from exc
        _remove_abandoned(index_dir)
        yield


def _check_writable_target(index_dir: Path) -> None:
    if index_dir.exists() and not index_dir.is_dir():
        raise SemsearchError(f"{index_dir} is a file; pass --index with a folder.")
    if index_dir.is_dir():
        known = {CURRENT, LOCK_FILE}
        foreign = [
            p.name
            for p in index_dir.iterdir()
            if p.name not in known and not p.name.startswith((_VERSION_PREFIX, _TMP_PREFIX))
        ]
        if foreign:
            raise SemsearchError(
                f"{index_dir} holds other files ({', '.join(sorted(foreign)[:3])}…) and is not a semsearch index; "
                "pass --index with an empty or new folder."
            )


def new_work_folder(index_dir: Path) -> Path:
    """A fresh hidden folder to build into."""
    return Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=index_dir))


def publish(index_dir: Path, work: Path) -> Path:
    """Rename a finished build into a version folder and point ``current`` at it atomically."""
    for path in work.rglob("*"):  # make the bytes durable before they become visible
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
        else:
            _fsync_dir(path)
    # microsecond UTC stamps sort in build order and are never reused, even after old ones are deleted
    version = index_dir / f"{_VERSION_PREFIX}{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
    while version.exists():
        version = version.with_name(version.name + "x")
    pointer = index_dir / CURRENT
    previous = pointer.resolve().name if pointer.is_symlink() else None
    work.rename(version)
    link_tmp = index_dir / f"{_TMP_PREFIX}link-{os.getpid()}"
    if link_tmp.is_symlink():
        link_tmp.unlink()
    link_tmp.symlink_to(version.name)
    os.replace(link_tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    _remove_old_versions(index_dir, keep={version.name, previous or version.name})
    return version


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_old_versions(index_dir: Path, keep: set[str]) -> None:
    """Keep the new version and the one it replaced (a server may still be reading it)."""
    for old in index_dir.glob(f"{_VERSION_PREFIX}*"):
        if old.is_dir() and old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _remove_abandoned(index_dir: Path) -> None:
    """Drop temporary folders left by builds that crashed (we hold the lock, so none is running)."""
    for tmp in index_dir.glob(f"{_TMP_PREFIX}*"):
        if tmp.is_symlink() or tmp.is_file():
            tmp.unlink()
        else:
            shutil.rmtree(tmp, ignore_errors=True)
