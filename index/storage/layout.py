"""The one owner of an index version's files: every file's name and what it holds (``FILES``), the write of a
whole version into a work folder (``write_version``) and the read of one with every consistency check
(``read_version``). Nobody else names these files: the modules that know a format (rows, sentences, the
lexical index, the FAISS index, the store) read and write the paths they are given here.

The read costs the same at any size: the manifest, the file set and every file's size, the cheap headers
(FAISS, array shapes, SQLite schema) and the row counts that must agree across files, never the checksums
(``Manifest.damaged_files``, run by ``semsearch check`` and in the background of ``serve``).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import IndexMismatchError
from ..vectors.faiss_index import FaissIndex, open_vector_index, params_file
from ..vectors.spec import parse_spec
from .arrays import damaged, load_npy, npy_header
from .lexical import LexicalIndex
from .manifest import FileRecord, Manifest, describe_files
from .rows import LanguageMeans, VectorRows, centred_lookup
from .sentences import SentenceVectors
from .store import Store, StoreRecords

if TYPE_CHECKING:
    from .versions import Lease

MANIFEST_FILE = "manifest.json"
VECTORS_FILE = "vectors.faiss"
PARAMS_FILE = params_file(Path(VECTORS_FILE)).name  # the FAISS wrapper keeps them beside the index
EMBEDDINGS_FILE = "embeddings.npy"
ROWS_FILE = "rows.npz"
MEANS_FILE = "language_means.npz"
MASKED_FILE = "masked_ids.npy"
SENTENCES_FILE = "sentences.npy"
OFFSETS_FILE = "sentence_offsets.npy"
STORE_FILE = "store.sqlite"
LEXICAL_DIR = "lexical"
# Readers of a version hold a shared lock on this empty file; a version is deleted only under an exclusive one.
LEASE_FILE = ".lease"

# Every file (or folder) of a version, and what it holds. The manifest lists the others with their sizes and
# checksums; the lease is the readers' lock, not content.
FILES: dict[str, str] = {
    MANIFEST_FILE: "how the index was built, what it holds, and every other file's size and sha256",
    VECTORS_FILE: "the FAISS index of the centred vectors, by vector id",
    PARAMS_FILE: "the FAISS index's spec and tuned search parameter",
    EMBEDDINGS_FILE: "the model's raw vectors, one row per vector id (float32, memory-mapped)",
    ROWS_FILE: "per row: vector id (sorted), article number, language",
    MEANS_FILE: "how the language is removed from the vectors: per-language means or a LEACE eraser, and how strongly",
    MASKED_FILE: "ids an HNSW graph keeps but never returns (removed since it was built)",
    SENTENCES_FILE: "the sentence vectors of every passage (float16, memory-mapped)",
    OFFSETS_FILE: "per row, where its sentence vectors start",
    STORE_FILE: "articles, passages, stories and republished copies (SQLite)",
    LEXICAL_DIR: "the BM25 index of every row's text, and of its romanised names",
    LEASE_FILE: "the readers' lock (empty)",
}
_UNLISTED = {MANIFEST_FILE, LEASE_FILE}  # the files the manifest does not list
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


@dataclass(frozen=True)
class VersionContent:
    """Everything one version holds, as a build made it."""

    vectors: FaissIndex
    rows: VectorRows
    sentences: SentenceVectors
    means: LanguageMeans
    masked: np.ndarray
    texts: list[str]  # the text of every row, in row order, for the lexical index
    store: StoreRecords


def write_version(
    work: Path, content: VersionContent, manifest_of: Callable[[dict[str, FileRecord]], Manifest]
) -> Manifest:
    """Write every file of ``content`` into the work folder ``work``, then the manifest that ``manifest_of``
    makes from the files' records (sizes and checksums), last."""
    content.vectors.save(work / VECTORS_FILE)  # and its parameters beside it (PARAMS_FILE)
    content.rows.save(work / EMBEDDINGS_FILE, work / ROWS_FILE)
    content.sentences.save(work / OFFSETS_FILE, work / SENTENCES_FILE)
    content.means.save(work / MEANS_FILE)
    np.save(work / MASKED_FILE, content.masked)
    LexicalIndex.build(content.texts).save(work / LEXICAL_DIR)
    content.store.write(work / STORE_FILE)
    files = describe_files(work, skip=_UNLISTED)
    assert set(FILES) - _UNLISTED == {name.split("/", 1)[0] for name in files}, "a file of FILES was not written"
    manifest = manifest_of(files)
    (work / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> Manifest:
    """The manifest of the version in ``folder``, checked against the files there: every file of the format
    listed, present and of the size the build wrote, and no file the build did not write."""
    manifest = Manifest.read(folder / MANIFEST_FILE)
    listed = {name.split("/", 1)[0] for name in manifest.files}
    missing = sorted(set(FILES) - _UNLISTED - listed)
    if missing:
        raise IndexMismatchError(
            f"The manifest of {folder} does not list {', '.join(missing)}; rebuild the index with `semsearch build`."
        )
    extra = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in _UNLISTED and p.relative_to(folder).as_posix() not in manifest.files
    )
    if extra:
        raise IndexMismatchError(
            f"{folder} holds files its build did not write ({', '.join(extra[:3])}); rebuild the index with "
            "`semsearch build`."
        )
    manifest.check_sizes(folder)
    return manifest


def read_version(folder: Path, lease: Lease | None, *, mmap: bool = True) -> LoadedIndex:
    """Open the version in ``folder`` with every consistency check (see the module docstring). The FAISS index
    is read at its first search (``open_vector_index``), mapped from disk unless ``mmap`` is False."""
    manifest = read_manifest(folder)
    masked = load_npy(folder / MASKED_FILE, dtype="int64", ndim=1)
    expected = manifest.passages + manifest.headlines
    _check_faiss_header(folder / VECTORS_FILE, manifest.model.dimension, expected + len(masked))
    spec = parse_spec(manifest.index_spec, 0, manifest.model.dimension, 0)
    rows = VectorRows.load(folder / EMBEDDINGS_FILE, folder / ROWS_FILE)
    if len(rows) != expected or rows.raw.shape[1] != manifest.model.dimension:
        raise IndexMismatchError(
            f"{folder} holds {len(rows)} vectors, its manifest {expected}; rebuild the index with `semsearch build`."
        )
    means = LanguageMeans.load(folder / MEANS_FILE)
    sentences = SentenceVectors.load(folder / OFFSETS_FILE, folder / SENTENCES_FILE)
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
    tail = b""
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
