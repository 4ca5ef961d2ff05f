"""Reading the ``.npy``/``.npz`` files of an index version safely: no pickles, and every array's header checked
against the file's size before it is mapped, so a damaged file is a one-line refusal, never a traceback or a
SIGBUS on a page that is not there."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError

# What reading a damaged array file can raise, besides what is checked first.
READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def damaged(path: Path, why: str) -> IndexMismatchError:
    """The refusal of a damaged index file: names it and says how to repair."""
    return IndexMismatchError(
        f"{path} is damaged ({why}); rebuild the index with `semsearch build` (`semsearch check` lists every "
        "damaged file)."
    )


@dataclass(frozen=True)
class NpyHeader:
    """What an ``.npy`` file's header says: the array's shape and dtype, and where its data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int


def npy_header(path: Path) -> NpyHeader:
    """The header of an ``.npy`` file, after checking that the file holds exactly that much data and no Python
    objects."""
    try:
        with path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(fh)
            offset = fh.tell()
        size = path.stat().st_size
    except READ_ERRORS as exc:
        raise damaged(path, f"not a NumPy array file: {exc}") from exc
    if dtype.hasobject:
        raise damaged(path, "it holds Python objects, which are never loaded")
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size != expected:
        raise damaged(path, f"{size} bytes where its header promises {expected}")
    return NpyHeader(tuple(shape), dtype, offset)


def load_npy(path: Path, *, dtype: str | None = None, ndim: int | None = None, mmap: bool = False) -> np.ndarray:
    """An ``.npy`` array (memory-mapped read-only with ``mmap``), refused unless its size, dtype and rank are
    the expected ones."""
    header = npy_header(path)
    if dtype is not None and header.dtype != np.dtype(dtype):
        raise damaged(path, f"dtype {header.dtype}, expected {dtype}")
    if ndim is not None and len(header.shape) != ndim:
        raise damaged(path, f"shape {header.shape}, expected {ndim} dimensions")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except READ_ERRORS as exc:
        raise damaged(path, str(exc)) from exc


def load_npz(path: Path, names: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The named arrays of an ``.npz`` file (read into memory, no pickles), and those of ``optional`` it holds."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in (*names, *(n for n in optional if n in data.files))}
    except READ_ERRORS as exc:
        raise damaged(path, f"{type(exc).__name__}: {exc}") from exc
