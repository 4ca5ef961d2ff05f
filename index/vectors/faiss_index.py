"""FAISS behind one small interface: add with ids, remove, search (optionally among allowed ids), save, load.

Opening an index file (``open_vector_index``) neither imports FAISS nor reads the file: the index is read, or
memory-mapped read-only, at its first use, so a lexical query never pays for either. A mapped index is never
changed (FAISS cannot resize a mapping): ``copy`` reads a writable one from the file.

Thread safety: FAISS does not lock. A loaded index is never modified while it is being searched:
``search`` only reads (FAISS searches are safe from many threads at once), and every change (add,
remove, retrain) is made on an index that no reader holds yet — the build writes a new version folder
and readers switch to it as a whole. ``search_params`` are fixed at load time and passed per call, so
no search mutates shared state either.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexMismatchError, SemsearchError
from ..models import Filter
from .spec import IndexSpec, training_size

# PQ candidates fetched per result before exact re-ranking.
DEFAULT_RERANK_FACTOR = 16
# Below this many allowed vectors a filtered search is an exact scan of just those vectors.
EXACT_FILTER_MAX = 20_000


def params_file(path: Path) -> Path:
    """Where the search parameters of the index file ``path`` are kept: beside it, as ``<stem>.params.json``."""
    return path.with_name(f"{path.stem}.params.json")


# Exact vectors by id, for re-ranking and exact filtered scans: ids -> (n, d) float32.
VectorLookup = Callable[[np.ndarray], np.ndarray]


def _faiss() -> Any:
    """The faiss module, imported on first use (its SWIG stubs mislead type checkers, hence Any)."""
    import faiss

    return faiss


class FaissIndex:
    """A FAISS index whose vectors keep their own int64 ids (IVF natively, others through IndexIDMap)."""

    def __init__(self, index: Any, spec: IndexSpec, params: dict[str, Any] | None = None) -> None:
        """``index``: the FAISS index, in memory (``open_vector_index`` gives one read from a file on first use)."""
        self._loaded = index
        self.spec = spec
        self.dimension = int(index.d) if index is not None else 0
        self.params: dict[str, Any] = dict(params or {})
        self.lookup: VectorLookup | None = None  # set by the owner when exact vectors are available
        self.masked = np.zeros(0, np.int64)  # removed from an HNSW graph that cannot delete: never returned
        self._file: Path | None = None  # where an opened index is read from, at its first use
        self._mapped = False  # whether that read maps the file (read-only) instead of copying it into memory
        self._size = 0  # its vector count, from the file's header, until it is read
        self._reading = threading.Lock()

    @property
    def _index(self) -> Any:
        """The FAISS index, read from its file at the first call that needs it (once, even under threads)."""
        if self._loaded is None:
            with self._reading:
                if self._loaded is None:
                    assert self._file is not None
                    self._loaded = _read(self._file, self.spec, self.dimension, self._mapped)
        return self._loaded

    def read(self) -> None:
        """Read (or map) the index from its file now, refusing a damaged one, instead of at its first use."""
        self._index  # noqa: B018 - the property reads it

    @property
    def mapped(self) -> bool:
        """Whether the index is (or will be) searched from a read-only mapping of its file."""
        return self._mapped

    def __len__(self) -> int:
        return int(self._loaded.ntotal) if self._loaded is not None else self._size

    def _writable(self) -> Any:
        """The FAISS index, to change: never a mapping (FAISS would abort the process), a bug to ask for."""
        if self._mapped:
            raise RuntimeError(f"{self._file} is memory-mapped read-only; change a copy() of it instead")
        return self._index

    @property
    def trained(self) -> bool:
        """Whether the index has been trained (always true for Flat and HNSW)."""
        return bool(self._index.is_trained)

    def train(self, vectors: np.ndarray, seed: int = 1234) -> None:
        """Train the coarse quantizer (and codes) on a sample of the corpus; no-op for Flat and HNSW."""
        if self.trained:
            return
        n = training_size(self.spec, len(vectors))
        rows = np.random.default_rng(seed).choice(len(vectors), size=n, replace=False) if n < len(vectors) else None
        sample = vectors if rows is None else vectors[np.sort(rows)]
        if len(sample) < self.spec.lists:
            raise SemsearchError(
                f"{self.spec} needs at least {self.spec.lists} vectors to train, the corpus has {len(sample)}; "
                "use --index-type auto or Flat."
            )
        self._writable().train(np.ascontiguousarray(sample, dtype=np.float32))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given int64 ids."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise IndexMismatchError(
                f"Vectors of shape {vectors.shape} do not fit an index of dimension {self.dimension}."
            )
        if not self.trained:
            self.train(vectors)
        self._writable().add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id (Flat and IVF); HNSW cannot, its owner masks them instead."""
        if self.spec.kind == "HNSW":
            raise SemsearchError("HNSW indexes cannot remove vectors; they are masked and compacted instead.")
        faiss = _faiss()

        return int(self._writable().remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))))

    def search_params(self, selector: Any = None) -> Any:
        """FAISS search parameters for this spec (nprobe / efSearch), with an optional id selector."""
        faiss = _faiss()

        if self.spec.kind == "IVF":
            return faiss.SearchParametersIVF(sel=selector, nprobe=int(self.params.get("nprobe", 8)))
        if self.spec.kind == "HNSW":
            return faiss.SearchParametersHNSW(sel=selector, efSearch=int(self.params.get("efSearch", 64)))
        return faiss.SearchParameters(sel=selector) if selector is not None else None

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, where: Filter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best per query, best first; missing slots have id -1.

        ``allowed`` limits the search to those ids and still returns the true top-k among them: small
        sets are scanned exactly, larger ones go through a FAISS IDSelector. ``where`` is not needed here
        (``allowed`` already holds the ids it matches); it is for stores that filter on their own fields.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dimension:
            raise IndexMismatchError(
                f"Query vectors have dimension {queries.shape[-1]} but the index has {self.dimension}; "
                "query with the model the index was built with."
            )
        k = max(1, k)
        if allowed is not None:
            allowed = np.setdiff1d(np.asarray(allowed, dtype=np.int64), self.masked)
            if len(allowed) == 0:
                return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
            if (len(allowed) <= EXACT_FILTER_MAX or self.spec.kind == "HNSW") and self.lookup is not None:
                return _exact_topk(queries, allowed, self.lookup(allowed), k)
        return self._search(queries, k, allowed)

    def _search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()

        # FAISS selectors hold raw pointers to one another: these locals keep every one alive for the call
        allow = faiss.IDSelectorBatch(allowed) if allowed is not None else None
        masked = faiss.IDSelectorBatch(self.masked) if len(self.masked) else None
        hide = faiss.IDSelectorNot(masked) if masked is not None else None
        both = faiss.IDSelectorAnd(allow, hide) if allow is not None and hide is not None else None
        params = self.search_params(both or allow or hide)
        fetch = k * int(self.params.get("rerank_factor", DEFAULT_RERANK_FACTOR)) if self.spec.reranked else k
        fetch = max(1, min(fetch, len(self) or 1))
        scores, ids = self._index.search(queries, fetch, params=params)
        if self.spec.reranked and self.lookup is not None:
            scores, ids = self._rerank(queries, ids, k)
        if ids.shape[1] < k:
            pad = k - ids.shape[1]
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        return scores[:, :k], ids[:, :k]

    def _rerank(self, queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Re-score PQ candidates with the exact stored vectors."""
        assert self.lookup is not None
        out_scores = np.full((len(queries), candidates.shape[1]), -np.inf, np.float32)
        out_ids = np.full_like(candidates, -1)
        for row, (query, cand) in enumerate(zip(queries, candidates)):
            valid = cand[cand >= 0]
            if len(valid) == 0:
                continue
            exact = self.lookup(valid) @ query
            order = np.argsort(-exact)
            out_scores[row, : len(valid)] = exact[order]
            out_ids[row, : len(valid)] = valid[order]
        return out_scores, out_ids

    def memory_bytes(self) -> int:
        """Bytes the index takes in memory (its serialised size, which FAISS keeps resident)."""
        faiss = _faiss()

        return int(faiss.serialize_index(self._index).nbytes)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` and its search parameters beside it."""
        faiss = _faiss()

        try:
            faiss.write_index(self._index, str(path))
        except RuntimeError as exc:  # FAISS reports a failed write in the message only: give it its errno back
            for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
                if os.strerror(code) in str(exc):
                    raise OSError(code, os.strerror(code), str(path)) from exc
            raise
        params_file(path).write_text(json.dumps({"spec": str(self.spec), **self.params}, indent=2))

    def copy(self) -> FaissIndex:
        """A deep, writable copy, for changing an index that readers may still hold. An index opened from a
        file and not yet read, or mapped, is read from the file again (a clone of a mapping would still be
        one, and FAISS aborts the process when asked to grow it)."""
        if self._file is not None and (self._loaded is None or self._mapped):
            inner = _read(self._file, self.spec, self.dimension, mapped=False)
        else:
            inner = _faiss().clone_index(self._index)
        clone = FaissIndex(inner, self.spec, self.params)
        clone.lookup, clone.masked = self.lookup, self.masked
        return clone


def _exact_topk(queries: np.ndarray, ids: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ vectors.T
    take = min(k, len(ids))
    top = np.argsort(-scores, axis=1)[:, :take]
    out_scores = np.full((len(queries), k), -np.inf, np.float32)
    out_ids = np.full((len(queries), k), -1, np.int64)
    out_scores[:, :take] = np.take_along_axis(scores, top, axis=1)
    out_ids[:, :take] = ids[top]
    return out_scores, out_ids


def create_vector_index(spec: IndexSpec, dimension: int) -> FaissIndex:
    """A new empty index for the spec (inner product on normalised vectors = cosine)."""
    faiss = _faiss()

    if spec.kind == "HNSW":
        inner = faiss.IndexHNSWFlat(dimension, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = 80
    else:
        inner = faiss.index_factory(dimension, spec.factory, faiss.METRIC_INNER_PRODUCT)
        if spec.coding == "PQ":
            # The factory turns on polysemous training (re-labelling the codes for Hamming-distance search, which
            # semsearch never uses: distances are the same either way); it was most of a PQ build's training time.
            faiss.downcast_index(faiss.extract_index_ivf(inner)).do_polysemous_training = False
    # IVF lists store ids themselves; Flat and HNSW get a plain id map (IndexIDMap2's reverse map would
    # cost tens of bytes per vector for a reconstruct-by-id we never use: exact vectors come from lookup).
    return FaissIndex(inner if spec.kind == "IVF" else faiss.IndexIDMap(inner), spec)


def open_vector_index(path: Path, spec: IndexSpec, dimension: int, size: int, *, mmap: bool = True) -> FaissIndex:
    """An index written by ``save``, read from ``path`` at its first use (``mmap``: mapped read-only, the
    default; else read into memory); its search parameters are read now. The caller checks the file's
    header first (``size`` vectors of ``dimension``); a file FAISS cannot read is refused at that first use,
    with the same error ``load_vector_index`` gives."""
    params_path = params_file(path)
    try:
        params = json.loads(params_path.read_text()) if params_path.is_file() else {}
        if not isinstance(params, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(f"{params_path} is damaged ({exc}); rebuild with `semsearch build`.") from exc
    params.pop("spec", None)
    index = FaissIndex(None, spec, params)
    index.dimension, index._size, index._file, index._mapped = dimension, size, path, mmap
    return index


def load_vector_index(path: Path, spec: IndexSpec, dimension: int, *, mmap: bool = False) -> FaissIndex:
    """Read an index written by ``save`` now; a damaged file or a dimension mismatch is refused."""
    index = open_vector_index(path, spec, dimension, 0, mmap=mmap)
    index.read()
    return index


def _read(path: Path, spec: IndexSpec, dimension: int, mapped: bool) -> Any:
    """The FAISS index in ``path``, mapped read-only or read into memory; a damaged file is refused."""
    faiss = _faiss()

    try:
        # IVF maps its inverted lists; Flat and HNSW map their vectors (the "flat codes") instead
        flag = faiss.IO_FLAG_MMAP if spec.kind == "IVF" else faiss.IO_FLAG_MMAP_IFC
        index = faiss.read_index(str(path), flag | faiss.IO_FLAG_READ_ONLY if mapped else 0)
    except RuntimeError as exc:
        raise IndexMismatchError(f"The vector file {path} is damaged ({exc}); rebuild with `semsearch build`.") from exc
    if index.d != dimension:
        raise IndexMismatchError(
            f"The vector file {path} has dimension {index.d}, the manifest says {dimension}; rebuild the index."
        )
    return index
