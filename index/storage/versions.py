"""The index folder on disk: versions, the ``current`` pointer swapped atomically, and opening one.

Layout: ``INDEX/current`` is a symlink to ``INDEX/v-<time>-<n>/`` holding manifest, vectors and store.
A build writes a new version folder, then replaces the symlink with ``os.replace`` (atomic on POSIX),
so a reader sees the old index or the new one, never a mix; a crash mid-build leaves ``current`` alone.
"""

from __future__ import annotations

import fcntl
import math
import os
import shutil
import sqlite3
import struct
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from ..disk import writing
from ..errors import IndexBusyError, IndexMismatchError, IndexNotFoundError, SemsearchError
from ..vectors.faiss_index import FaissIndex, open_vector_index
from ..vectors.spec import parse_spec
from .arrays import damaged, load_npy, npy_header
from .lexical import LEXICAL_DIR, LexicalIndex
from .manifest import LEASE_FILE, STORE_FILE, VECTORS_FILE, Manifest
from .rows import MASKED_FILE, MEANS_FILE, LanguageMeans, VectorRows, centred_lookup
from .sentences import SentenceVectors
from .store import Store

CURRENT = "current"
LOCK_FILE = ".build.lock"
_VERSION_PREFIX = "v-"
_TMP_PREFIX = ".tmp-"
# What to do when the index folder's disk is full or read-only.
INDEX_HINT = "pass --index (SEMSEARCH_INDEX) with a folder on a disk you can write to"
_LOCK_POLL_S = 0.1  # how often a queued write looks at the build lock again
_FAISS_TYPES = {b"IxMp", b"IwFl", b"IwSq", b"IwPQ", b"IwSh", b"IwRQ"}  # IndexIDMap (Flat, HNSW) and the IVF types
_ID_MAP = b"IxMp"  # FAISS writes an IndexIDMap's ids last: their count (uint64), then one int64 per vector


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
    lease: Lease | None = None  # released when this index is closed or garbage-collected

    def close(self) -> None:
        """Release the reader lease (the version may then be deleted by the next publish)."""
        if self.lease is not None:
            self.lease.release()


def current_version(index_dir: Path) -> Path:
    """The version folder ``current`` points to, or a clear error when there is none."""
    pointer = index_dir / CURRENT
    if not pointer.exists():
        if index_dir.is_dir() and any(index_dir.iterdir()) and not pointer.is_symlink():
            raise IndexNotFoundError(f"{index_dir} is not a semsearch index; pass --index with the right folder.")
        raise IndexNotFoundError(f"No index at {index_dir} — run `semsearch build <articles folder>` first.")
    return pointer.resolve()


def open_index(index_dir: Path, *, mmap: bool = True) -> LoadedIndex:
    """Open the current version of an index, holding a reader lease on it until the index is closed.

    Opening costs the same at any size: the manifest, every file's size and the cheap headers (FAISS, array
    shapes, SQLite schema) are checked, never the checksums (``check_index`` verifies those). A damaged or
    truncated file is refused in one line before anything is memory-mapped.

    The FAISS index is read at the first dense search, not here (a lexical query never imports FAISS):
    ``mmap`` (the default) maps it read-only, IVF its inverted lists, Flat and HNSW their vectors, so even
    that read costs little at any size; ``mmap=False`` reads it into memory. An IVF file damaged past its
    header is refused at that first search (Flat and HNSW files: here, from their tails).
    """
    folder, lease = _lease_current(index_dir)
    try:
        return _open_version(folder, lease, mmap)
    except BaseException:
        lease.release()
        raise


def _open_version(folder: Path, lease: Lease, mmap: bool) -> LoadedIndex:
    manifest = Manifest.read(folder)
    manifest.check_sizes(folder)
    masked = load_npy(folder / MASKED_FILE, dtype="int64", ndim=1)
    expected = manifest.passages + manifest.headlines
    _check_faiss_header(folder / VECTORS_FILE, manifest.model.dimension, expected + len(masked))
    spec = parse_spec(manifest.index_spec, 0, manifest.model.dimension, 0)
    rows = VectorRows.load(folder)
    if len(rows) != expected or rows.raw.shape[1] != manifest.model.dimension:
        raise IndexMismatchError(
            f"{folder} holds {len(rows)} vectors, its manifest {expected}; rebuild the index with `semsearch build`."
        )
    means = LanguageMeans.load(folder / MEANS_FILE)
    sentences = SentenceVectors.load(folder)
    if len(sentences.offsets) != len(rows) + 1:
        raise IndexMismatchError(f"{folder} has sentence vectors for {len(sentences.offsets) - 1} rows, not {len(rows)}; "
                                 "rebuild the index with `semsearch build`.")  # fmt: skip
    for path in sorted((folder / LEXICAL_DIR).rglob("*.npy")):  # each field, the names field included
        npy_header(path)  # bm25s maps these: sizes checked first
    lexical = LexicalIndex.load(folder / LEXICAL_DIR, mmap=True)
    if lexical.rows != len(rows):
        raise IndexMismatchError(
            f"{folder} has {lexical.rows} lexical rows for {len(rows)} vectors; rebuild the index with `semsearch build`."
        )
    vectors = open_vector_index(
        folder / VECTORS_FILE, spec, manifest.model.dimension, expected + len(masked), mmap=mmap
    )
    vectors.lookup = centred_lookup(rows, means)
    vectors.masked = masked
    store = Store(folder / STORE_FILE)
    try:
        store.check()
    except sqlite3.DatabaseError as exc:
        raise damaged(folder / STORE_FILE, f"SQLite: {exc}") from exc
    return LoadedIndex(folder, folder.name, manifest, vectors, store, lexical, rows, sentences, means, masked, lease)


def _check_faiss_header(path: Path, dimension: int, ntotal: int) -> None:
    """The FAISS file starts with a known index type, then the dimension and vector count the manifest gives;
    an IndexIDMap's (Flat, HNSW) ends with that many ids, so a truncated one is refused without reading it."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
            if head[:4] == _ID_MAP and len(head) == 16:
                fh.seek(max(0, path.stat().st_size - 8 * (ntotal + 1)))
                tail = fh.read(8)
    except OSError as exc:
        raise damaged(path, str(exc)) from exc
    if len(head) < 16 or head[:4] not in _FAISS_TYPES:
        raise damaged(path, "not a FAISS index semsearch writes")
    d, n = struct.unpack("<iq", head[4:16])
    if (d, n) != (dimension, ntotal):
        raise damaged(path, f"{n} vectors of dimension {d}, the manifest says {ntotal} of {dimension}")
    if head[:4] == _ID_MAP and (len(tail) < 8 or struct.unpack("<q", tail)[0] != ntotal):
        raise damaged(path, f"its {ntotal} ids are not where they end the file (truncated?)")


class Lease:
    """A shared lock on a version's lease file, held while this process reads the version; a version is
    deleted only by whoever can lock it exclusively, so never under a reader."""

    def __init__(self, handle: IO[bytes] | None) -> None:
        self._handle = handle

    def release(self) -> None:
        """Let the version go (also done when the lease is garbage-collected)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _lease_current(index_dir: Path) -> tuple[Path, Lease]:
    """The version ``current`` points to, leased; retried when a cleanup deleted it between the two steps."""
    for _ in range(5):
        folder = current_version(index_dir)
        lease = _take_lease(folder)
        if folder.is_dir():  # still there: a deleter renames a version away under its lock
            return folder, lease
        lease.release()
    raise IndexNotFoundError(f"The index at {index_dir} keeps changing under this reader; try again.")


def _take_lease(folder: Path) -> Lease:
    handle: IO[bytes]
    try:
        handle = (folder / LEASE_FILE).open("rb")
    except FileNotFoundError:
        try:  # a version written before leases: give it one if this user may
            handle = (folder / LEASE_FILE).open("a+b")
        except OSError:
            return Lease(None)
    except OSError:
        return Lease(None)
    fcntl.flock(handle, fcntl.LOCK_SH)
    return Lease(handle)


@dataclass(frozen=True)
class CheckReport:
    """What ``check_index`` verified."""

    index_dir: Path
    version: str
    files: int
    bytes: int
    seconds: float


def check_index(index_dir: Path) -> CheckReport:
    """Verify every file of the current version against the checksums its build recorded (reads them all),
    then open it and run SQLite's quick_check; a damaged version is refused, naming every damaged file."""
    started = time.perf_counter()
    folder, lease = _lease_current(index_dir)
    try:
        manifest = Manifest.read(folder)
        bad = manifest.damaged_files(folder)
        if bad:
            raise IndexMismatchError(
                f"{len(bad)} file(s) of {folder} differ from what the build wrote: {', '.join(bad)}. Repair: run "
                f"`semsearch build` on the sources again ({', '.join(manifest.sources) or 'the articles'}); it "
                "writes a new, whole version."
            )
        index = _open_version(folder, Lease(None), mmap=True)
        index.vectors.read()  # FAISS parses it whole: what is left of an IVF file past its header
        try:
            index.store.quick_check()
        except sqlite3.DatabaseError as exc:
            raise damaged(folder / STORE_FILE, f"SQLite: {exc}") from exc
    finally:
        lease.release()
    size = sum(int(f["bytes"]) for f in manifest.files.values())
    return CheckReport(index_dir, folder.name, len(manifest.files), size, time.perf_counter() - started)


@contextmanager
def build_lock(index_dir: Path, wait_s: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on the index folder so two builds never interleave; wait up to ``wait_s`` for
    a build or write that holds it (writes queue this way), then refuse with IndexBusyError."""
    _check_writable_target(index_dir)
    with writing(index_dir, INDEX_HINT):
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = (index_dir / LOCK_FILE).open("w")
    with fh:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f" (waited {wait_s:g} s)" if wait_s else ""
                    raise IndexBusyError(
                        f"Another build is writing {index_dir}{waited}; wait for it to finish and try again.",
                        retry_after_s=max(1, math.ceil(wait_s) or 10),
                    ) from None
                time.sleep(_LOCK_POLL_S)
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
    """A fresh hidden folder to build into, with its (empty) lease file; readable as the umask allows, like
    any folder the user makes (mkdtemp's 0700 would hide the index from a server run by another user)."""
    work = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=index_dir))
    umask = os.umask(0)
    os.umask(umask)
    work.chmod(0o777 & ~umask)
    (work / LEASE_FILE).touch()
    return work


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
    """Delete versions no process reads. The new version and the one it replaced are always kept (a reader
    may have resolved ``current`` and not yet taken its lease); any other version while someone holds its
    lease (a server that has not yet moved on, a long export)."""
    for old in index_dir.glob(f"{_VERSION_PREFIX}*"):
        if old.is_dir() and old.name not in keep:
            _remove_unleased(old)


def _remove_unleased(folder: Path) -> None:
    """Delete a version folder unless it is leased: it is renamed away under the exclusive lock, so a reader
    that takes its lease meanwhile finds it gone and reads ``current`` again."""
    try:
        handle = (folder / LEASE_FILE).open("rb")
    except OSError:
        handle = None  # a version written before leases
    try:
        if handle is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
        trash = folder.with_name(f"{_TMP_PREFIX}old-{folder.name}")
        folder.rename(trash)
    except OSError:
        return
    finally:
        if handle is not None:
            handle.close()
    shutil.rmtree(trash, ignore_errors=True)


def _remove_abandoned(index_dir: Path) -> None:
    """Drop temporary folders left by builds that crashed (we hold the lock, so none is running)."""
    for tmp in index_dir.glob(f"{_TMP_PREFIX}*"):
        if tmp.is_symlink() or tmp.is_file():
            tmp.unlink()
        else:
            shutil.rmtree(tmp, ignore_errors=True)
