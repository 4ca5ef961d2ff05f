"""Milvus as the vector store: export an index's vectors into a collection, and search it like the FAISS file.

One client code path for a Milvus cluster (``milvus://HOST:PORT/COLLECTION``) and for Milvus Lite, the
embedded server of the ``milvus-lite`` package (``milvus:///path/to/file.db/COLLECTION``): pymilvus's
``MilvusClient`` over gRPC either way (addresses and connecting: ``milvus_location``).

A collection holds every vector of one index version — the centred vectors FAISS holds, under the same int64
ids — with the article id, language, day (YYYY-MM-DD of the article date, "" when it has none), source and
path as scalar fields, so a query's filters run inside Milvus. Its properties record the model (name, weights
fingerprint, dimension), the index version it came from, the semsearch spec and the tuned search parameter;
opening one built by another model or dimension, or from another version of the index, is refused. What
stays local: the SQLite store (articles, passages, stories), the BM25 index, and the rows and sentence
vectors (memory-mapped) that map hits to articles and choose snippets.

An export writes a new collection ``NAME__<version>``, tunes it, then points the alias ``NAME`` at it, so
servers searching ``NAME`` switch from the old vectors to the new ones at once.

Index types follow the semsearch spec: Flat → FLAT (exact), HNSW<M> → HNSW (M, efConstruction 80 as in
FAISS), IVF<k>,Flat / SQ8 / PQ<m> → IVF_FLAT / IVF_SQ8 / IVF_PQ with nlist = k (and m). The recall-targeted
tuning of the FAISS core (``index.vectors.tuning``) is run against Milvus itself: the smallest ``ef`` (HNSW)
or ``nprobe`` (IVF) whose recall@10 against exact search reaches the target on held-out corpus vectors.
A search for more results than 10 (the engine fetches several passages per article) raises them as it
must: ``ef`` to at least the number asked for (Milvus requires it), ``nprobe`` to enough lists to hold
twice that many vectors (on a small corpus a few lists hold fewer vectors than the engine asks for).
Candidates from 8-bit or PQ codes are re-ranked with the exact vectors of the local index (twice as many
fetched for SQ8, the tuned re-rank factor for PQ), as the FAISS core re-ranks PQ.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import IndexMismatchError, IndexNotFoundError, SemsearchError
from ..models import Filter
from ..settings import CONNECT_TIMEOUT_S
from .faiss_index import DEFAULT_RERANK_FACTOR, VectorLookup
from .milvus_location import MilvusLocation, connect, parse_store
from .spec import IndexSpec, parse_spec
from .tuning import Tuning, tune_search

__all__ = [
    "MilvusFailure",
    "MilvusLocation",
    "MilvusVectors",
    "connect",
    "create_collection",
    "milvus_index_type",
    "parse_store",
]

# Milvus answers at most this many results per query (its topk limit).
MAX_TOPK = 16_384
# Rows per insert call (gRPC messages stay well under Milvus's 64 MB limit at d = 384).
INSERT_ROWS = 2_000
_VARCHAR = 4_096
_PREFIX = "semsearch."


class MilvusFailure(SemsearchError):
    """Milvus failed an operation (a search, a load): possibly transient, so an export tries again."""


def milvus_index_type(spec: IndexSpec) -> tuple[str, dict[str, int]]:
    """Milvus index type and build parameters for a semsearch spec."""
    if spec.kind == "Flat":
        return "FLAT", {}
    if spec.kind == "HNSW":
        return "HNSW", {"M": spec.hnsw_m, "efConstruction": 80}
    if spec.coding == "PQ":
        return "IVF_PQ", {"nlist": spec.lists, "m": spec.pq_m, "nbits": 8}
    return ("IVF_SQ8" if spec.coding == "SQ8" else "IVF_FLAT"), {"nlist": spec.lists}


def create_collection(client: Any, name: str, spec: IndexSpec, dimension: int, properties: dict[str, str]) -> None:
    """An empty collection for vectors and their articles' fields, indexed per ``spec``."""
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, description=json.dumps(properties))
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    for field in ("article", "lang", "day", "source", "path"):
        schema.add_field(field, DataType.VARCHAR, max_length=_VARCHAR)
    index_type, params = milvus_index_type(spec)
    index_params = client.prepare_index_params()
    # pymilvus sends build parameters as flat keys (what a Milvus server reads); Milvus Lite reads only the
    # older nested "params" JSON, which a server also accepts: send both, so both build what the spec says.
    index_params.add_index(
        field_name="vector", index_type=index_type, metric_type="IP", params={**params, "params": params}
    )
    client.create_collection(name, schema=schema, index_params=index_params, properties=_prefixed(properties))


def _prefixed(properties: dict[str, str]) -> dict[str, str]:
    return {_PREFIX + k: str(v) for k, v in properties.items()}


def read_properties(client: Any, name: str) -> dict[str, str]:
    """The semsearch properties of a collection (from its properties, else its description)."""
    described = client.describe_collection(name)
    found = {
        k.removeprefix(_PREFIX): v for k, v in (described.get("properties") or {}).items() if k.startswith(_PREFIX)
    }
    if not found and described.get("description"):
        try:
            found = {k: str(v) for k, v in json.loads(described["description"]).items()}
        except (ValueError, AttributeError):
            found = {}
    return found


def expression(where: Filter | None, allowed: np.ndarray | None) -> str:
    """A Milvus boolean expression over the collection's scalar fields ("" when nothing is filtered)."""
    if where is None:
        return f"id in [{','.join(map(str, np.asarray(allowed).tolist()))}]" if allowed is not None else ""
    parts = []
    if where.langs:
        parts.append(f"lang in [{','.join(_literal(v) for v in where.langs)}]")
    if where.since:
        parts.append(f'day != "" and day >= {_literal(where.since.isoformat())}')
    if where.until:
        parts.append(f'day != "" and day <= {_literal(where.until.isoformat())}')
    if where.source:
        prefix = where.source.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        parts.append(f"(source == {_literal(where.source)} or path like {_literal(prefix + '%')})")
    if where.article_ids is not None:
        parts.append(f"article in [{','.join(_literal(v) for v in where.article_ids)}]")
    return " and ".join(parts)


def _literal(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


class MilvusVectors:
    """A Milvus collection searched like ``FaissIndex`` (``index.vectors.VectorBackend``); thread-safe."""

    def __init__(self, client: Any, location: MilvusLocation, properties: dict[str, str], rows: int) -> None:
        self._client = client
        self.location = location
        self.collection = location.collection
        self.properties = properties
        self.dimension = int(properties["dimension"])
        self.spec = parse_spec(properties["spec"], rows, self.dimension, 0)
        self.params: dict[str, int] = {}
        if properties.get("search_param"):
            self.params[properties["search_param"]] = int(properties["search_value"])
        self._rows = rows
        # exact vectors by id (the local index's memory-mapped rows): quantised codes (SQ8, PQ) are re-ranked
        self.lookup: VectorLookup | None = None

    def __len__(self) -> int:
        return self._rows

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, where: Filter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best per query (at most MAX_TOPK found), filtered inside Milvus by ``where``
        (else by the ``allowed`` ids); missing slots have id -1."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dimension:
            raise IndexMismatchError(
                f"Query vectors have dimension {queries.shape[-1]} but {self.location.text} holds {self.dimension}."
            )
        k = max(1, k)
        out_scores = np.full((len(queries), k), -np.inf, np.float32)
        out_ids = np.full((len(queries), k), -1, np.int64)
        if allowed is not None and len(allowed) == 0:
            return out_scores, out_ids
        rerank = self.lookup is not None and self.spec.coding in ("SQ8", "PQ")
        factor = int(self.params.get("rerank_factor", DEFAULT_RERANK_FACTOR)) if self.spec.coding == "PQ" else 2
        limit = min(k * factor if rerank else k, MAX_TOPK)
        hits = self._search(queries, limit, expression(where, allowed), self._search_params(limit))
        for row, found in enumerate(hits):
            ids = np.array([h["id"] for h in found], dtype=np.int64)
            scores = np.array([h["distance"] for h in found], dtype=np.float32)
            if rerank and len(ids):  # as the FAISS core re-ranks PQ: exact scores from the stored vectors
                assert self.lookup is not None
                scores = self.lookup(np.sort(ids)) @ queries[row]
                ids = np.sort(ids)
                order = np.argsort(-scores, kind="stable")
                ids, scores = ids[order], scores[order]
            n = min(k, len(ids))
            out_ids[row, :n], out_scores[row, :n] = ids[:n], scores[:n]
        return out_scores, out_ids

    def _search_params(self, limit: int, value: int | None = None) -> dict[str, Any]:
        param = next(iter(self.params), None)
        value = value if value is not None else self.params.get(param or "", 0)
        if self.spec.kind == "HNSW":  # Milvus refuses ef < limit (FAISS silently searches with max(ef, k))
            return {"metric_type": "IP", "params": {"ef": max(int(value or 64), limit)}}
        if self.spec.kind == "IVF":  # probe at least enough lists to hold twice the results asked for
            reach = math.ceil(2 * limit * self.spec.lists / max(1, self._rows))
            return {"metric_type": "IP", "params": {"nprobe": min(self.spec.lists, max(int(value or 8), reach))}}
        return {"metric_type": "IP", "params": {}}

    def _search(self, queries: np.ndarray, limit: int, expr: str, params: dict[str, Any]) -> list[list[Any]]:
        from pymilvus.exceptions import MilvusException

        try:
            found = self._client.search(
                self.collection, data=queries.tolist(), limit=limit, filter=expr, search_params=params,
                output_fields=[], timeout=CONNECT_TIMEOUT_S * 3,
            )  # fmt: skip
        except MilvusException as exc:
            raise MilvusFailure(
                f"Milvus at {self.location.text} failed a search ({milvus_message(exc)}); check the server."
            ) from exc
        return [list(hits) for hits in found]

    def tune(self, vectors: np.ndarray, ids: np.ndarray, holdout: np.ndarray, target: float) -> Tuning:
        """Choose the smallest ef (HNSW) or nprobe (IVF) reaching ``target`` recall@10 against exact search, with
        the tuner FAISS uses (``index.vectors.tuning.tune_search``): ``holdout`` rows of ``vectors`` are not in
        the collection yet and serve as unseen queries (none: indexed vectors, leave-one-out)."""
        parameter = "ef" if self.spec.kind == "HNSW" else "nprobe"
        tuning = tune_search([self._search_at], self.spec, vectors, ids, target, parameter=parameter, holdout=holdout)
        if tuning.value is not None:
            self.params = {parameter: tuning.value}
        return tuning

    def _search_at(self, value: int, queries: np.ndarray, k: int) -> np.ndarray:
        """Ids of the k best per query with the search parameter at ``value``, unfiltered (-1 where fewer)."""
        hits = self._search(queries, k, "", self._search_params(k, value))
        found = np.full((len(hits), k), -1, np.int64)
        for row, row_hits in enumerate(hits):
            ids = [h["id"] for h in row_hits][:k]
            found[row, : len(ids)] = ids
        return found


def open_collection(location: MilvusLocation, expect: dict[str, str], *, client: Any = None) -> MilvusVectors:
    """The collection (or alias) at ``location``, checked against ``expect`` (fingerprint, dimension, version)
    and loaded for search."""
    from pymilvus.exceptions import MilvusException

    client = client or connect(location)
    try:
        if not client.has_collection(location.collection):
            raise IndexNotFoundError(
                f"No collection {location.collection!r} in {location.text}; run `semsearch export --to "
                f"{location.text}`."
            )
        found = read_properties(client, location.collection)
        check_properties(found, expect, location)
        rows = int(client.get_collection_stats(location.collection).get("row_count", 0))
        client.load_collection(location.collection)
    except MilvusException as exc:
        raise MilvusFailure(
            f"Milvus at {location.text} could not open {location.collection} ({milvus_message(exc)}); check the "
            f"server, or run `semsearch export --to {location.text}` again."
        ) from exc
    return MilvusVectors(client, location, found, rows)


def milvus_message(exc: Exception) -> str:
    """A Milvus error in one short line (its message, without the server's stack)."""
    text = str(getattr(exc, "message", "") or exc)
    return " ".join(text.split())[:300]


def check_properties(found: dict[str, str], expect: dict[str, str], location: MilvusLocation) -> None:
    """Refuse a collection that is not semsearch's, or holds another model's, dimension's or version's vectors."""
    if "fingerprint" not in found or "dimension" not in found:
        raise IndexMismatchError(
            f"{location.text} is not a semsearch collection (no model fingerprint or dimension recorded); "
            "export into another collection name."
        )
    if found["fingerprint"] != expect["fingerprint"] or found["dimension"] != expect["dimension"]:
        raise IndexMismatchError(
            f"{location.text} holds {found['dimension']}-dimensional vectors of {found.get('model', '?')} "
            f"(weights {found['fingerprint']}), the index {expect['dimension']}-dimensional ones of "
            f"{expect.get('model', '?')} (weights {expect['fingerprint']}); export into another collection, "
            "or drop that one."
        )
    if "index_version" in expect and found.get("index_version") != expect["index_version"]:
        raise IndexMismatchError(
            f"{location.text} holds the vectors of index version {found.get('index_version')}, the index is at "
            f"{expect['index_version']}; run `semsearch export --to {location.text}` again."
        )


def insert_rows(
    client: Any,
    name: str,
    ids: np.ndarray,
    vectors: np.ndarray,
    fields: Sequence[dict[str, str]],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Insert vectors with their articles' fields, INSERT_ROWS at a time."""
    for start in range(0, len(ids), INSERT_ROWS):
        stop = min(len(ids), start + INSERT_ROWS)
        client.insert(
            name,
            [{"id": int(ids[i]), "vector": vectors[i].tolist(), **fields[i]} for i in range(start, stop)],
        )
        if progress:
            progress(stop)


def wait_indexed(client: Any, name: str, timeout_s: float = 600) -> None:
    """Release, flush, wait until the vector index covers every row, and load the collection with it.

    The flush happens while the collection is released: Milvus Lite builds a loaded collection's segment
    indexes in a background thread after each flush and writes each to its file outside its lock, so a load
    at that moment reads a half-written file ("Failed to read all data for array … file seems not fully
    written?"). Released, the flush leaves the index to the load, which builds it under that lock."""
    client.release_collection(name)
    client.flush(name)
    deadline = time.monotonic() + timeout_s
    while True:
        described = client.describe_index(name, "vector")
        if not described or described.get("pending_index_rows", 0) == 0:
            break
        if time.monotonic() > deadline:
            raise SemsearchError(f"Milvus did not finish indexing {name} within {timeout_s:g} s; export again.")
        time.sleep(0.5)
    # Milvus Lite builds a flushed segment's index at load time (its describe_index already says "Finished"):
    # tuning must see the real index.
    client.load_collection(name)
