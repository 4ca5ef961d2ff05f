"""The index folder on disk: versions, the ``current`` pointer swapped atomically, leases, and opening one.

Layout: ``INDEX/current`` is a symlink to ``INDEX/v-<time>-<n>/``, a version folder whose files
``storage.layout`` owns (and writes and reads).
A build writes a new version folder, then replaces the symlink with ``os.replace`` (atomic on POSIX),
so a reader sees the old index or the new one, never a mix; a crash mid-build leaves ``current`` alone.
"""

from __future__ import annotations

import fcntl
import math
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from ..disk import writing
from ..errors import IndexBusyError, IndexMismatchError, IndexNotFoundError, SemsearchError
from .arrays import damaged
from .layout import LEASE_FILE, STORE_FILE, LoadedIndex, read_manifest, read_version
from .sources import SOURCES_FILE

CURRENT = "current"
LOCK_FILE = ".build.lock"
_VERSION_PREFIX = "v-"
_TMP_PREFIX = ".tmp-"
# What to do when the index folder's disk is full or read-only.
INDEX_HINT = "pass --index (SEMSEARCH_INDEX) with a folder on a disk you can write to"
_LOCK_POLL_S = 0.1  # how often a queued write looks at the build lock again


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
        return read_version(folder, lease, mmap=mmap)
    except BaseException:
        lease.release()
        raise


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
        manifest = read_manifest(folder)
        bad = manifest.damaged_files(folder)
        if bad:
            raise IndexMismatchError(
                f"{len(bad)} file(s) of {folder} differ from what the build wrote: {', '.join(bad)}. Repair: run "
                f"`semsearch build` on the sources again ({', '.join(manifest.sources) or 'the articles'}); it "
                "writes a new, whole version."
            )
        index = read_version(folder, Lease(None), mmap=True)
        index.vectors.read()  # FAISS parses it whole: what is left of an IVF file past its header
        try:
            index.store.quick_check()
        except sqlite3.DatabaseError as exc:
            raise damaged(folder / STORE_FILE, f"SQLite: {exc}") from exc
    finally:
        lease.release()
    size = sum(f.bytes for f in manifest.files.values())
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
        known = {CURRENT, LOCK_FILE, SOURCES_FILE}
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
