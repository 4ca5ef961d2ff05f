"""What a full or read-only disk means for the user: the OS errors of writing an index or a model, turned
into one line that names the folder, the disk and what to do."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import SemsearchError

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
NOT_WRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def mount_point(path: Path) -> Path:
    """The mount point of the disk holding ``path`` (its nearest existing folder)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    device = path.stat().st_dev
    while path != path.parent and path.parent.stat().st_dev == device:
        path = path.parent
    return path


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n / 2**10:,.0f} KiB"


def disk_error(exc: OSError, folder: Path, needed_bytes: int, hint: str) -> SemsearchError | None:
    """The one-line error for a full or read-only disk under ``folder`` (None for any other OSError)."""
    if exc.errno in DISK_FULL:
        try:
            disk, free = mount_point(folder), shutil.disk_usage(mount_point(folder)).free
            where = f"the disk mounted at {disk} ({_mib(free)} free)"
        except OSError:
            where = "its disk"
        need = f"; this needs about {_mib(needed_bytes)}" if needed_bytes else ""
        return SemsearchError(f"No space left to write {folder} on {where}{need}. Free space there, or {hint}.")
    if exc.errno in NOT_WRITABLE:
        why = os.strerror(exc.errno).lower()
        return SemsearchError(f"Cannot write to {exc.filename or folder} ({why}); {hint}.")
    return None


@contextmanager
def writing(folder: Path, hint: str, needed_bytes: int = 0) -> Iterator[None]:
    """Run a block that writes under ``folder``; a full or read-only disk becomes one SemsearchError."""
    try:
        yield
    except OSError as exc:
        error = disk_error(exc, folder, needed_bytes, hint)
        if error is None:
            raise
        raise error from exc
