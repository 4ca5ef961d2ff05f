"""The build on a Ray cluster: ingest, chunking and embedding as a Ray Data pipeline, the index written locally.

Reading runs on Ray (``reading``): folder tasks learn each folder's boilerplate, reader actors read the files
and detect languages, and the driver assembles the articles in the local build's order. The driver finds
copies and chunks the articles, then ships only the texts whose vectors neither the current index nor the
embedding cache holds to encoder actors (``encoding``). The vectors — keyed by the hash of the exact text
embedded — go to ``pipeline.build_version``, so the store, the FAISS and BM25 indexes, the stories, the
embedding cache and the atomic publish are the local build's own code: the same passages and the same vectors
(within float tolerance: batches are padded differently), and the same report (vectors encoded, of them on Ray,
reused, from the cache). ``session`` joins or starts Ray and turns its failures into SemsearchErrors, raised
before anything is written, so the previous index stays as it was.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from ...embedding import Embedder
from ...ingest.duplicates import find_duplicates
from ...settings import Settings
from ...storage.versions import build_lock
from ...vectors import validate_target
from ..inputs import BuildInput
from ..pipeline import build_version, load_model
from ..report import BuildReport, ProgressCallback, silent
from .encoding import EmbedderFactory, ModelLoader, encode_on_ray, texts_to_encode
from .reading import read_on_ray
from .session import ray_module, ray_session

__all__ = ["EmbedderFactory", "build_index_on_ray", "ray_session"]


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
    ray_module()  # Ray installed? Asked before the index folder is touched
    with build_lock(settings.index_dir), ray_session(address):
        read = read_on_ray(sources, settings.read_options, notify, settings.follow_links)
        articles, republished = find_duplicates(read.articles)
        embedder = embedder or load_model(settings, notify)
        # the workers encode with the driver's backend, so the index records the one that made its vectors
        backend = embedder.backend
        factory = worker_embedder or ModelLoader(settings.model, settings.models_dir, backend, settings.use_gpu)
        todo = texts_to_encode(articles, embedder, settings)
        precomputed = encode_on_ray(list(todo), list(todo.values()), settings, embedder.fingerprint, factory, notify)
        inputs = BuildInput(articles, tuple(sources), started, read.skipped, read.repaired, republished,
                            precomputed=precomputed)  # fmt: skip
        return build_version(inputs, settings, embedder=embedder, progress=notify)
