"""The vector index of a build: the current one updated in place when the rules allow, else one built from
scratch; centred, trained, filled and tuned for the recall target in one place.

Updated: removed passages deleted (Flat, IVF) or masked (HNSW), new ones added. Rebuilt: on the first
build, on any settings change, when an HNSW index has masked more than COMPACT_MASKED_SHARE of its vectors
(compaction), or when an IVF index has grown past IVF_RETRAIN_GROWTH times the corpus it was trained on
(its k lists, chosen as 4·√N, would then be half what the corpus needs), or when the language map no longer
serves the rows (``LanguageMeans.serves``: another method asked for, or LEACE would now be fitted on another
set of languages — one reached MIN_LANGUAGE_ROWS or fell below it). Otherwise the map is kept: a LEACE eraser
as fitted, centring means fitted only for new languages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..settings import Settings
from ..storage.rows import LanguageMeans, VectorRows, centred_lookup, centred_rows, language_method
from ..storage.versions import LoadedIndex
from ..vectors import FaissIndex, IndexSpec, Tuning, create_vector_index, parse_spec, tune
from ..vectors.spec import memory_budget
from ..vectors.tuning import holdout_rows
from .report import BuildProgress, ProgressCallback

# Vectors added to a FAISS index per call (bounds the temporary copy of centred vectors).
_ADD_CHUNK = 100_000
COMPACT_MASKED_SHARE = 0.2
IVF_RETRAIN_GROWTH = 4.0


@dataclass(frozen=True)
class BuiltIndex:
    """A build's vector index, tuned, with what the version stores beside it."""

    index: FaissIndex
    means: LanguageMeans  # how the language was removed from its vectors (LEACE or centring)
    masked: np.ndarray  # ids an HNSW graph holds but never returns
    mode: str  # "full" or "incremental"
    tuning: Tuning
    trained_on: int  # vectors the index was built (IVF: trained) on


def build_vector_index(
    rows: VectorRows, previous: LoadedIndex | None, settings: Settings, notify: ProgressCallback
) -> BuiltIndex:
    """The vector index of ``rows``: ``previous``'s updated when the rules allow, else a new one; tuned."""
    notify(BuildProgress("index", 0, 1))
    spec = parse_spec(settings.index_spec, len(rows), rows.raw.shape[1], memory_budget())
    built = None
    method = language_method(settings.language_neutral, settings.language_method)
    if previous is not None and str(previous.vectors.spec) == str(spec) and previous.means.serves(method, rows.langs):
        built = _updated(rows, previous, settings.recall_target)
    built = built or _new(rows, spec, settings)
    notify(BuildProgress("index", 1, 1))
    return built


def _new(rows: VectorRows, spec: IndexSpec, settings: Settings) -> BuiltIndex:
    """A new index of ``rows``, tuned on rows kept out of it until then (truly unseen queries)."""
    dim = rows.raw.shape[1]
    means = LanguageMeans.fit(
        rows.raw, rows.langs.tolist(), language_method(settings.language_neutral, settings.language_method)
    )
    index = create_vector_index(spec, dim)
    centred = centred_rows(rows, means, _ADD_CHUNK)
    if spec.kind == "IVF":
        index.train(centred)
    # rows kept out until tuning has used them as unseen queries (none for exact search)
    holdout = np.zeros(0, np.int64) if spec.exact else holdout_rows(len(rows))
    keep = np.ones(len(rows), bool)
    keep[holdout] = False
    for i in range(0, len(rows), _ADD_CHUNK):
        part = np.flatnonzero(keep[i : i + _ADD_CHUNK]) + i
        index.add(rows.ids[part], centred[part])
    index.lookup = centred_lookup(rows, means)
    tuning = tune(index, centred, rows.ids, settings.recall_target, holdout=holdout)
    if len(holdout):  # the tuning queries were kept out of the index until now
        index.add(rows.ids[holdout], centred[holdout])
    return BuiltIndex(index, means, np.zeros(0, np.int64), "full", tuning, len(rows))


def _updated(rows: VectorRows, previous: LoadedIndex, target: float) -> BuiltIndex | None:
    """``previous``'s index with the removed rows deleted or masked and the new ones added, tuned on indexed
    vectors (leave-one-out); None when it must be rebuilt instead."""
    built = previous.manifest.build
    if previous.vectors.spec.kind == "IVF" and len(rows) > IVF_RETRAIN_GROWTH * max(1, built.trained_on):
        return None  # retrain: the corpus outgrew the coarse quantizer
    old_ids = previous.rows.ids
    removed = np.setdiff1d(old_ids, rows.ids)
    added = np.setdiff1d(rows.ids, old_ids)
    new_rows = rows.positions(added)
    means = previous.means.extend(rows.raw[new_rows], list(rows.langs[new_rows]))
    index = previous.vectors.copy()
    masked = previous.masked
    if index.spec.kind == "HNSW":
        masked = np.union1d(masked, removed)
        if len(masked) > COMPACT_MASKED_SHARE * (len(index) + len(added)):
            return None  # compaction: too much of the graph is dead
    elif len(removed):
        index.remove(removed)
    if len(added):
        index.add(added, means.apply(rows.raw[new_rows], rows.langs[new_rows]))
    index.lookup = centred_lookup(rows, means)
    index.masked = masked
    centred = None if index.spec.exact else centred_rows(rows, means, _ADD_CHUNK)  # exact search needs no tuning
    tuning = tune(index, centred, rows.ids, target, holdout=np.zeros(0, np.int64))
    return BuiltIndex(index, means, masked, "incremental", tuning, built.trained_on)
