"""The build pipeline: read sources, chunk, find vectors for what is new, update or rebuild the vector index,
group stories, write and publish.

A build starts from the current index when it can (same model weights and chunker): unchanged
passages keep their ids and vectors, only new text is encoded (vectors are keyed by the hash of the exact
text embedded), and the vector index is updated in place when the rules of ``vector_index`` allow. Either
way the result is written to a new version folder and swapped in atomically. Each stage lives in its own
module: ``reading``, ``chunk``, ``plan``, ``encode``, ``vector_index``, ``stories``, ``version``.

Three entry points hand ``build_version`` one ``BuildInput``: ``build_index`` here (files read locally),
``ray.build_index_on_ray`` (read and encoded on Ray) and ``writes.write_articles`` (an HTTP write).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..disk import writing
from ..embedding import Embedder, load_embedder
from ..embedding.cache import Encoded
from ..errors import SemsearchError
from ..ingest.duplicates import find_duplicates
from ..models import Article, Repaired, Republished, Skipped, count
from ..settings import Settings
from ..storage.layout import STORE_FILE, read_manifest
from ..storage.manifest import BuildStats, ChunkerInfo, Manifest
from ..storage.rows import VectorRows
from ..storage.sources import SourceRecord
from ..storage.store import Store
from ..storage.versions import INDEX_HINT, LoadedIndex, build_lock, current_version, open_index, publish
from ..vectors import validate_target
from .chunk import chunk_articles
from .encode import FoundVectors, find_vectors
from .fingerprint import inputs_fingerprint, model_identity
from .inputs import BuildInput
from .plan import plan_ids, unchanged
from .reading import read_sources
from .report import BuildProgress, BuildReport, ProgressCallback, silent
from .stories import stories_of
from .vector_index import BuiltIndex, build_vector_index
from .version import NewVersion, work_folder, write_version

__all__ = [
    "BuildInput",
    "BuildProgress",
    "BuildReport",
    "BuildStats",
    "ProgressCallback",
    "build_index",
    "build_version",
    "chunk_articles",
    "index_articles",
    "load_model",
]


def build_index(
    sources: Iterable[Path],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
    precomputed: Mapping[str, Encoded] | None = None,
) -> BuildReport:
    """Build (or update) the index of every article under ``sources`` in ``settings.index_dir`` and swap it in.

    ``precomputed``: vectors already encoded elsewhere (a distributed build), keyed by the ``text_hash``
    of the exact text embedded; they must come from the same model weights as ``embedder``."""
    started = time.perf_counter()
    notify = progress or silent
    sources = list(sources)
    validate_target(settings.recall_target)
    with build_lock(settings.index_dir):
        fingerprint = inputs_fingerprint(sources, settings)
        same = unchanged_sources(fingerprint, settings, embedder, notify, started)
        if same is not None:
            return same
        read = read_sources(sources, settings.read_options, settings.follow_links, notify)
        articles, republished = find_duplicates(read.articles)
        inputs = BuildInput(articles, tuple(sources), started, read.skipped, read.repaired, republished,
                            precomputed=precomputed)  # fmt: skip
        report = build_version(inputs, settings, embedder=embedder, progress=notify)
        SourceRecord(report.version, fingerprint, read.skipped, read.repaired).save(settings.index_dir)
        return report


def unchanged_sources(
    fingerprint: str, settings: Settings, embedder: Embedder | None, notify: ProgressCallback, started: float
) -> BuildReport | None:
    """The report of a rebuild that changes nothing, decided before reading: the last build read inputs with
    this ``fingerprint``, its version is still current and intact, and the model and encoder are the same.
    None when the sources must be read."""
    record = SourceRecord.load(settings.index_dir)
    if record is None or record.fingerprint != fingerprint:
        return None
    try:
        folder = current_version(settings.index_dir)
        manifest = read_manifest(folder)
    except SemsearchError:
        return None  # damaged or gone: the build reads and writes a new version
    if folder.name != record.version:
        return None
    stage = lambda name: notify(BuildProgress(name, 0, None))  # noqa: E731 - the one-time materialisation
    if model_identity(settings, embedder, stage) != (manifest.model.fingerprint, manifest.model.encoder):
        return None
    republished = Store(folder / STORE_FILE).all_republished()
    inputs = BuildInput([], (), started, record.skipped, record.repaired, republished)
    return _report(inputs, settings, folder.name, manifest, 0.0, [], published=False)


def build_version(
    inputs: BuildInput,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Index ``inputs`` as the next version of ``settings.index_dir`` (the caller holds the build lock), reusing
    the current version's vectors for unchanged text; nothing is published when nothing changed."""
    notify = progress or silent
    _check_models_dir(settings)
    embedder = embedder or load_model(settings, notify)
    notices: list[str] = list(embedder.notices)
    if settings.passage_tokens > embedder.max_tokens:
        raise SemsearchError(
            f"--passage-tokens {settings.passage_tokens} exceeds the model's limit of {embedder.max_tokens}."
        )
    previous = reusable_index(settings, embedder, inputs.current)
    passages, texts = chunk_articles(inputs.articles, embedder, settings, notify, previous=previous)
    plan = plan_ids(inputs.articles, passages, texts, previous)
    if previous is not None and unchanged(previous, plan, inputs, settings):
        return _report(inputs, settings, previous.version, previous.manifest, 0.0, notices, published=False)
    found = find_vectors(plan, previous, embedder, settings, inputs.precomputed, notify, notices)
    rows = VectorRows(plan.ids, plan.articles, plan.langs, found.raw)
    with writing(settings.index_dir, INDEX_HINT, _bytes_needed(found, plan.texts)):
        with work_folder(settings.index_dir) as work:
            vectors = build_vector_index(rows, previous, settings, notify)
            notify(BuildProgress("write", 0, 1))  # announced before the stories, as the CLI has always shown it
            notify(BuildProgress("stories", 0, 1))
            stories = stories_of(rows, inputs.articles, plan.numbers)
            notify(BuildProgress("stories", 1, 1))
            stats = _stats(inputs, found, vectors, stories, embedder.backend)
            new = NewVersion(inputs, plan, rows, found.sentences, vectors, stories, stats)
            manifest = write_version(work, new, embedder, settings)
            version = publish(settings.index_dir, work)
            notify(BuildProgress("write", 1, 1))
    return _report(inputs, settings, version.name, manifest, found.seconds, notices)


def index_articles(
    articles: list[Article],
    settings: Settings,
    *,
    embedder: Embedder | None,
    notify: ProgressCallback,
    started: float,
    sources: list[Path],
    skipped: list[Skipped] | None = None,
    repaired: list[Repaired] | None = None,
    republished: list[Republished] | None = None,
    current: LoadedIndex | None = None,
) -> BuildReport:
    """``build_version`` called with the fields of a ``BuildInput`` as keywords: the HTTP write path's
    (``writes.write_articles``) entry until it builds its ``BuildInput`` itself."""
    inputs = BuildInput(articles, tuple(sources), started, skipped or [], repaired or [], republished or [], current)
    return build_version(inputs, settings, embedder=embedder, progress=notify)


def load_model(settings: Settings, notify: ProgressCallback) -> Embedder:
    """The settings' model and encoder, loaded as the "model" stage (its one-time materialisation and int8
    export, when they happen, as stages of their own)."""
    notify(BuildProgress("model", 0, 1))
    embedder = load_embedder(
        settings.model, settings.models_dir, settings.encoder, use_gpu=settings.use_gpu,
        on_stage=lambda stage: notify(BuildProgress(stage, 0, None)),
    )  # fmt: skip
    notify(BuildProgress("model", 1, 1))
    return embedder


def reusable_index(settings: Settings, embedder: Embedder, current: LoadedIndex | None = None) -> LoadedIndex | None:
    """The current index (``current`` when the caller has it open already), when its vectors can be reused."""
    try:
        previous = current or open_index(settings.index_dir)
    except SemsearchError:
        return None  # no index yet, or a damaged one: build from scratch
    m = previous.manifest
    same = (
        m.model.fingerprint == embedder.fingerprint
        and m.model.dimension == embedder.dimension
        and m.model.encoder == embedder.backend
        and m.chunker == ChunkerInfo(settings.passage_tokens, settings.overlap_sentences)
    )  # the language map may differ: raw vectors are reused, the vector index is rebuilt (vector_index)
    return previous if same else None


def _check_models_dir(settings: Settings) -> None:
    if settings.models_dir.resolve().is_relative_to(settings.index_dir.resolve()):
        raise SemsearchError(
            f"Models would be kept inside the index folder {settings.index_dir}; set SEMSEARCH_HOME to another folder."
        )


def _stats(
    inputs: BuildInput, found: FoundVectors, vectors: BuiltIndex, stories: dict[int, int], encoder: str
) -> BuildStats:
    counts = found.counts
    return BuildStats(
        mode=vectors.mode, encoder=encoder, vectors_reused=counts.reused, vectors_precomputed=counts.precomputed,
        vectors_cached=counts.cached, vectors_encoded=counts.encoded + counts.precomputed,
        masked=len(vectors.masked), trained_on=vectors.trained_on, stories=len(set(stories.values())),
        republished=len(inputs.republished), repaired=count(inputs.repaired), articles_in_stories=len(stories),
    )  # fmt: skip


def _report(
    inputs: BuildInput,
    settings: Settings,
    version: str,
    manifest: Manifest,
    encode_seconds: float,
    notices: list[str],
    *,
    published: bool = True,
) -> BuildReport:
    return BuildReport(
        settings.index_dir, version, manifest, inputs.skipped, inputs.repaired, inputs.republished,
        time.perf_counter() - inputs.started, encode_seconds, tuple(notices), published=published,
    )  # fmt: skip


def _bytes_needed(found: FoundVectors, texts: list[str]) -> int:
    """About what a version takes on disk: vectors twice (raw and indexed), sentence vectors, text twice
    (store and lexical index)."""
    return 2 * found.raw.nbytes + found.sentences.vectors.nbytes + 2 * sum(len(t.encode()) for t in texts) + (1 << 20)
