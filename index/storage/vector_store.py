"""Which vector store an index is searched in: its own FAISS file, or a Milvus collection it was exported to.

``export_to_milvus`` copies an index's vectors (the centred vectors FAISS holds, never re-encoded) with their
articles' fields into a new Milvus collection, tunes its search parameter for the recall target and points
the collection name (an alias) at it. ``open_vector_store`` gives the engine the backend to search.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexMismatchError, SemsearchError
from ..settings import MILVUS_EXPORT_ATTEMPTS
from ..vectors import VectorBackend, parse_spec, validate_target
from ..vectors.milvus_location import MilvusLocation, connect, parse_store, require_pymilvus
from ..vectors.milvus_store import (
    MilvusFailure,
    check_properties,
    create_collection,
    insert_rows,
    milvus_index_type,
    milvus_message,
    open_collection,
    read_properties,
    wait_indexed,
)
from ..vectors.spec import IndexSpec, memory_budget
from ..vectors.tuning import Tuning, holdout_rows
from .manifest import Manifest
from .rows import centred_lookup, centred_rows
from .versions import LoadedIndex, open_index

__all__ = ["ExportReport", "export_to_milvus", "open_vector_store"]

_CENTRE_CHUNK = 50_000


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    store: str  # the location, password left out
    collection: str  # the physical collection the alias now points at
    vectors: int
    index_type: str  # the Milvus index type
    spec: str
    tuning: Tuning
    seconds: float


def expected_properties(manifest: Manifest, version: str) -> dict[str, str]:
    """What a collection exported from this index version records (and is checked against)."""
    model = manifest.model
    return {"model": model.name, "fingerprint": model.fingerprint, "dimension": str(model.dimension),
            "index_version": version}  # fmt: skip


def open_vector_store(store: str | None, index: LoadedIndex) -> VectorBackend:
    """The backend to search ``index`` in: its FAISS file (``store`` None) or the Milvus collection ``store``
    names, refused unless it holds this index version's vectors from the same model."""
    if store is None:
        return index.vectors
    location = parse_store(store)
    vectors = open_collection(location, expected_properties(index.manifest, index.version))
    vectors.lookup = centred_lookup(index.rows, index.means)
    if len(vectors) != len(index.rows):
        raise IndexMismatchError(
            f"{location.text} holds {len(vectors)} vectors, the index {len(index.rows)}; run "
            f"`semsearch export --to {location.text}` again."
        )
    return vectors


def export_to_milvus(
    index_dir: Path,
    store: str,
    *,
    index_type: str | None = None,
    recall_target: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ExportReport:
    """Copy the current version of the index at ``index_dir`` into the Milvus ``store`` (no re-encoding).

    ``index_type``: a semsearch spec for Milvus's index (default: the index's own); ``recall_target``:
    recall@10 the search parameter is tuned for (default: the index's own target). A Milvus failure is
    tried again (MILVUS_EXPORT_ATTEMPTS times in all, each into a fresh collection), then reported as a
    SemsearchError; the collection name keeps pointing at what it held before."""
    started = time.perf_counter()
    location = parse_store(store)
    require_pymilvus(location.lite)
    from pymilvus.exceptions import MilvusException

    index = open_index(index_dir)

    manifest = index.manifest
    target = validate_target(recall_target or manifest.recall.target)
    spec = parse_spec(index_type or manifest.index_spec, len(index.rows), manifest.model.dimension, memory_budget())
    client = connect(location)
    for attempt in range(1, MILVUS_EXPORT_ATTEMPTS + 1):
        try:
            physical, tuning = _export(client, location, index, spec, target, progress)
            break
        except (MilvusException, MilvusFailure) as exc:
            if attempt == MILVUS_EXPORT_ATTEMPTS:
                raise SemsearchError(
                    f"Milvus at {location.text} failed the export {attempt} times (last: {milvus_message(exc)}); "
                    f"{location.collection} still holds what it held before. Check the server (and its free disk), "
                    "then run `semsearch export` again."
                ) from exc
            time.sleep(attempt)  # a loaded server: give it a moment
    return ExportReport(location.text, physical, len(index.rows), milvus_index_type(spec)[0], str(spec), tuning,
                        time.perf_counter() - started)  # fmt: skip


def _export(
    client: Any,
    location: MilvusLocation,
    index: LoadedIndex,
    spec: IndexSpec,
    target: float,
    progress: Callable[[str, int, int], None] | None,
) -> tuple[str, Tuning]:
    """One export attempt into a new collection: insert, index, tune, point the alias at it; (name, tuning).
    The new collection is dropped when the attempt fails."""
    notify = progress or (lambda stage, done, total: None)
    rows, dim = index.rows, index.manifest.model.dimension
    expect = expected_properties(index.manifest, index.version)
    if client.has_collection(location.collection):  # an earlier export: it must hold this model's vectors
        same_model = {k: v for k, v in expect.items() if k != "index_version"}
        check_properties(read_properties(client, location.collection), same_model, location)
    physical = f"{location.collection}__{index.version.replace('-', '_')}_{time.time_ns() // 1_000_000}"
    properties = {**expect, "spec": str(spec), "search_param": "", "search_value": "0"}
    create_collection(client, physical, spec, dim, properties)
    try:
        client.release_collection(physical)  # filled and flushed released, then loaded (see wait_indexed)
        vectors = centred_rows(rows, index.means, _CENTRE_CHUNK)
        fields = _fields(index)
        holdout = np.zeros(0, np.int64) if spec.exact else holdout_rows(len(rows))
        keep = np.setdiff1d(np.arange(len(rows)), holdout)
        notify("insert", 0, len(rows))
        insert_rows(client, physical, rows.ids[keep], vectors[keep], [fields[i] for i in keep],
                    lambda done: notify("insert", done, len(rows)))  # fmt: skip
        wait_indexed(client, physical)
        notify("tune", 0, 1)
        opened = open_collection(MilvusLocation(location.uri, physical, location.token, location.text),
                                 expect, client=client)  # fmt: skip
        tuning = opened.tune(vectors, rows.ids, holdout, target)
        if len(holdout):  # the tuning queries were kept out until now, as in a FAISS build
            client.release_collection(physical)
            insert_rows(client, physical, rows.ids[holdout], vectors[holdout], [fields[i] for i in holdout])
            wait_indexed(client, physical)
        notify("tune", 1, 1)
        client.alter_collection_properties(physical, properties={
            "semsearch.search_param": tuning.parameter or "", "semsearch.search_value": str(tuning.value or 0),
            "semsearch.recall": str(tuning.recall_heldout)})  # fmt: skip
        _point_alias(client, location.collection, physical)
    except BaseException:
        with contextlib.suppress(Exception):  # the server may be the reason we are here
            client.drop_collection(physical)
        raise
    return physical, tuning


def _fields(index: LoadedIndex) -> list[dict[str, str]]:
    """Each row's article fields for Milvus's scalar filters."""
    numbers = {article_id: key[0] for article_id, key in index.store.article_keys().items()}
    by_number = {numbers[a.id]: a for a in index.store.all_articles()}
    out = []
    for number in index.rows.articles.tolist():
        a = by_number[int(number)]
        out.append({"article": a.id, "lang": a.lang or "", "day": (a.date or "")[:10], "source": a.source or "",
                    "path": a.path})  # fmt: skip
    return out


def _point_alias(client: Any, alias: str, physical: str) -> None:
    """Point ``alias`` at ``physical`` (atomically when it exists); drop the collections it pointed at before
    the previous one (a server may still be reading that)."""
    before = client.describe_alias(alias)["collection_name"] if alias in _aliases(client) else None
    if before is None:
        client.create_alias(physical, alias)
    else:
        client.alter_alias(physical, alias)
    for name in client.list_collections():
        if name.startswith(f"{alias}__") and name not in (physical, before):
            client.drop_collection(name)


def _aliases(client: Any) -> set[str]:
    found: set[str] = set()
    for name in client.list_collections():
        found.update(client.list_aliases(name).get("aliases", []))
    return found
