"""The build pipeline: read sources, chunk, embed what is new, update or rebuild the vector index, publish.

A build starts from the current index when it can (same model weights, chunker and centring): unchanged
passages keep their ids and vectors, only new text is encoded (vectors are keyed by the hash of the
exact text embedded), and the vector index is updated in place — removed passages deleted (Flat, IVF)
or masked (HNSW), new ones added. It is rebuilt from scratch on the first build, on any settings
change, when an HNSW index has masked more than COMPACT_MASKED_SHARE of its vectors (compaction), or
when an IVF index has grown past IVF_RETRAIN_GROWTH times the corpus it was trained on (its k lists,
chosen as 4·√N, would then be half what the corpus needs). Either way the result is written to a new
version folder and swapped in atomically.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np

from ..chunking import Chunker
from ..disk import writing
from ..embedding import Embedder, encode_with_sentences, load_embedder
from ..embedding.backends import BACKENDS
from ..embedding.batches import batch_size
from ..embedding.cache import EmbeddingCache
from ..embedding.pool import EncodePool, available_cores, encode_workers
from ..errors import NothingToIndexError, SemsearchError
from ..hashing import text_hash
from ..ingest.duplicates import find_duplicates
from ..ingest.formats import ReadOptions
from ..ingest.language import LanguageDetector, mixes_scripts
from ..ingest.walk import iter_articles
from ..models import Article, Notices, Passage, Repaired, Republished, Skipped, count
from ..settings import ENCODE_THREADS_PER_WORKER, TITLE_CONTEXT_SHARE, Settings
from ..storage.lexical import LEXICAL_DIR, LexicalIndex
from ..storage.manifest import MANIFEST_FILE, STORE_FILE, VECTORS_FILE, ChunkerInfo, Manifest, ModelInfo, describe_files
from ..storage.rows import MASKED_FILE, MEANS_FILE, LanguageMeans, VectorRows, centred_lookup, default_strength
from ..storage.sentences import SentenceVectors, body_sentence_spans
from ..storage.store import create_store
from ..storage.versions import INDEX_HINT, LoadedIndex, build_lock, new_work_folder, open_index, publish
from ..vectors import FaissIndex, create_vector_index, parse_spec, tune, validate_target
from ..vectors.tuning import holdout_rows
from .plan import Plan, plan_ids
from .stories import stories_of

# Passages handed to the model per call: large enough to keep it busy, small enough for live progress.
_ENCODE_CHUNK = 256
# Vectors added to a FAISS index per call (bounds the temporary copy of centred vectors).
_ADD_CHUNK = 100_000
COMPACT_MASKED_SHARE = 0.2
IVF_RETRAIN_GROWTH = 4.0


@dataclass(frozen=True)
class BuildProgress:
    """One progress event: ``stage`` is "read", "model" (loading it; "materialise" and "export" for its one-time
    steps), "chunk", "embed", "index", "stories" or "write"."""

    stage: str
    done: int
    total: int | None


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    index_dir: Path
    version: str
    manifest: Manifest
    skipped: list[Skipped]
    repaired: list[Repaired]
    republished: list[Republished]
    seconds: float
    encode_seconds: float
    notices: tuple[str, ...] = ()  # things the user should know: an encoder fallback, a disabled cache
    published: bool = True  # False: nothing changed, the current version (``version``) stays as it is

    @property
    def skipped_total(self) -> int:
        """Inputs skipped, counting those beyond the first MAX_NOTICES named in ``skipped``."""
        return count(self.skipped)

    @property
    def repaired_total(self) -> int:
        """Inputs repaired, counting those beyond the first MAX_NOTICES named in ``repaired``."""
        return count(self.repaired)

    @property
    def passages_per_second(self) -> float:
        """Passages per second over the whole build."""
        return self.manifest.passages / self.seconds if self.seconds else 0.0


ProgressCallback = Callable[[BuildProgress], None]
# One embedded text: its raw (un-centred, normalised) vector and one vector per sentence span.
Encoded = tuple[np.ndarray, np.ndarray]


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
    notify = progress or (lambda event: None)
    sources = list(sources)
    validate_target(settings.recall_target)
    with build_lock(settings.index_dir):
        articles, skipped, repaired = _read(sources, notify, settings.read_options, settings.follow_links)
        articles, republished = find_duplicates(articles)
        return index_articles(
            articles, settings, embedder=embedder, notify=notify, started=started, sources=sources,
            skipped=skipped, repaired=repaired, republished=republished, precomputed=precomputed,
        )  # fmt: skip


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
    precomputed: Mapping[str, Encoded] | None = None,
) -> BuildReport:
    """Index these articles as the next version of ``settings.index_dir`` (the caller holds the build lock),
    reusing the current version's vectors for unchanged text (``current``: that version, if already open)."""
    skipped, repaired, republished = skipped or [], repaired or [], republished or []
    if settings.models_dir.resolve().is_relative_to(settings.index_dir.resolve()):
        raise SemsearchError(
            f"Models would be kept inside the index folder {settings.index_dir}; set SEMSEARCH_HOME to another folder."
        )
    embedder = embedder or load_model(settings, notify)
    notices: list[str] = list(embedder.notices)
    if settings.passage_tokens > embedder.max_tokens:
        raise SemsearchError(
            f"--passage-tokens {settings.passage_tokens} exceeds the model's limit of {embedder.max_tokens}."
        )
    previous = _previous(settings, embedder, current)
    passages, texts = chunk_articles(articles, embedder, settings, notify, previous=previous)
    plan = plan_ids(articles, passages, texts, previous)
    if previous is not None and _unchanged(previous, articles, plan, settings, skipped, sources, republished):
        return BuildReport(
            settings.index_dir, previous.version, previous.manifest, skipped, repaired, republished,
            time.perf_counter() - started, 0.0, tuple(notices), published=False,
        )  # fmt: skip
    encode_started = time.perf_counter()
    with _encoding(embedder, settings, notices) as (encoder, cache):
        raw, sentences, counts = _vectors(plan, previous, encoder, notify, precomputed, cache)
    encode_seconds = time.perf_counter() - encode_started
    rows = VectorRows(plan.ids, plan.articles, plan.langs, raw)
    with writing(settings.index_dir, INDEX_HINT, _bytes_needed(rows, plan.texts, sentences)):
        version, manifest = _write_version(
            rows, sentences, plan, previous, articles, embedder, settings, skipped, sources, started, republished,
            repaired, counts, notify,
        )  # fmt: skip
    return BuildReport(
        settings.index_dir, version.name, manifest, skipped, repaired, republished,
        time.perf_counter() - started, encode_seconds, tuple(notices),
    )  # fmt: skip


def _unchanged(
    previous: LoadedIndex,
    articles: list[Article],
    plan: Plan,
    settings: Settings,
    skipped: list[Skipped],
    sources: list[Path],
    republished: list[Republished],
) -> bool:
    """Whether the new version would hold what ``previous`` holds: the same articles under the same numbers,
    every vector reused under its id, the same copies, index settings, sources and skipped files. (Cheap
    checks first; the article comparison reads the store.)"""
    m, rows = previous.manifest, previous.rows
    spec = parse_spec(settings.index_spec, len(plan.ids), m.model.dimension, memory_budget())
    if (
        str(spec) != m.index_spec
        or float(m.recall.get("target") or -1) != settings.recall_target
        or m.skipped != count(skipped)
        or m.sources != [str(s.resolve()) for s in sources]
        or len(plan.ids) != len(rows)
        or not (plan.reused_from >= 0).all()
        or not np.array_equal(plan.ids, rows.ids)
        or not np.array_equal(plan.articles, rows.articles)
        or not np.array_equal(plan.langs, rows.langs)
        or len(articles) != m.articles
    ):
        return False
    numbers = {article_id: key[0] for article_id, key in previous.store.article_keys().items()}
    if numbers != plan.numbers or set(previous.store.all_republished()) != set(republished):
        return False
    return set(previous.store.all_articles()) == set(articles)


def _bytes_needed(rows: VectorRows, texts: list[str], sentences: SentenceVectors) -> int:
    """About what a version takes on disk: vectors twice (raw and indexed), sentence vectors, text twice
    (store and lexical index)."""
    return 2 * rows.raw.nbytes + sentences.vectors.nbytes + 2 * sum(len(t.encode()) for t in texts) + (1 << 20)


def _write_version(
    rows: VectorRows,
    sentences: SentenceVectors,
    plan: Plan,
    previous: LoadedIndex | None,
    articles: list[Article],
    embedder: Embedder,
    settings: Settings,
    skipped: list[Skipped],
    sources: list[Path],
    started: float,
    republished: list[Republished],
    repaired: list[Repaired],
    counts: dict[str, int],
    notify: ProgressCallback,
) -> tuple[Path, Manifest]:
    """Index the rows, write every file of the new version into a work folder, and publish it."""
    work = new_work_folder(settings.index_dir)
    try:
        notify(BuildProgress("index", 0, 1))
        index, means, masked, mode, holdout, centred = _index(rows, previous, settings)
        if centred is None and not index.spec.exact:  # exact search needs no tuning, so no vectors
            centred = _centred(rows, means)
        tuning = tune(index, centred, rows.ids, settings.recall_target, holdout=holdout)
        if len(holdout) and centred is not None:  # the tuning queries were kept out of the index until now
            index.add(rows.ids[holdout], centred[holdout])
        del centred
        notify(BuildProgress("index", 1, 1))
        notify(BuildProgress("write", 0, 1))
        index.save(work / VECTORS_FILE)
        rows.save(work)
        sentences.save(work)
        means.save(work / MEANS_FILE)
        np.save(work / MASKED_FILE, masked)
        LexicalIndex.build(plan.texts).save(work / LEXICAL_DIR)
        notify(BuildProgress("stories", 0, 1))
        stories = stories_of(rows, articles, plan.numbers)
        notify(BuildProgress("stories", 1, 1))
        create_store(work / STORE_FILE, articles, plan.passages, plan.numbers, plan.headline_ids, stories, republished)
        stats = {
            "mode": mode,
            "encoder": _backend(embedder),
            "vectors_reused": int((plan.reused_from >= 0).sum()),
            **counts,
            "masked": len(masked),
            "trained_on": _trained_on(previous, mode, len(rows)),
            "stories": len(set(stories.values())),
            "republished": len(republished),
            "repaired": count(repaired),
            "articles_in_stories": len(stories),
        }
        manifest = _manifest(
            work, articles, plan, embedder, settings, skipped, sources, started, index, tuning, means, stats
        )
        version = publish(settings.index_dir, work)
        notify(BuildProgress("write", 1, 1))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return version, manifest


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


def _read(
    sources: list[Path], notify: ProgressCallback, options: ReadOptions, follow_links: bool
) -> tuple[list[Article], list[Skipped], list[Repaired]]:
    articles: list[Article] = []
    skipped: list[Skipped] = Notices()
    repaired: list[Repaired] = Notices()
    detector = LanguageDetector()
    for item in iter_articles(sources, detector, options, follow_links=follow_links):
        if isinstance(item, Skipped):
            skipped.append(item)
        elif isinstance(item, Repaired):
            repaired.append(item)
        else:
            articles.append(item)
            notify(BuildProgress("read", len(articles), None))
    if not articles:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5]) or "no files found"
        raise NothingToIndexError(
            f"No readable article in {', '.join(map(str, sources))} ({reasons}). "
            "Point `semsearch build` at text, Markdown, HTML, RSS/Atom, JSON Lines, JSON or CSV files "
            "(or .gz/.zip of them)."
        )
    return articles, skipped, repaired


def chunk_articles(
    articles: list[Article],
    embedder: Embedder,
    settings: Settings,
    notify: ProgressCallback | None = None,
    *,
    previous: LoadedIndex | None = None,
) -> tuple[list[Passage], list[str]]:
    """Cut articles into passages; returns the passages and the texts to embed (title context + passage).

    Passage ids here are positions; a build renumbers them to keep the ids of unchanged passages.
    In an article that mixes scripts (an Arabic report quoting a paragraph of English), each passage's
    language is detected too and kept where it differs from the article's. ``previous``: an index built
    with the same model and chunker settings, whose passages an unchanged article keeps (no re-chunking).
    """
    passages: list[Passage] = []
    texts: list[str] = []
    kept = previous.store.passages_by_content() if previous is not None else {}
    detector: LanguageDetector | None = None  # only for articles that mix scripts
    title_cap = int(settings.passage_tokens * TITLE_CONTEXT_SHARE)
    title_counts = embedder.count_tokens([a.title for a in articles])
    for article, title_tokens in zip(articles, title_counts):
        title = article.title
        if title_tokens > title_cap:  # keep the title's head: it is context, not content
            spans = embedder.token_spans(title)
            title, title_tokens = title[: spans[title_cap - 1][1]], title_cap
        earlier = kept.get(article.id)
        if earlier is not None and earlier[0] == article.content_hash and earlier[1]:
            reused = [f"{title}\n{p.text}" if title else p.text for p in earlier[1]]
            if all(text_hash(t) == p.embed_hash for t, p in zip(reused, earlier[1])):  # same title context too
                passages.extend(replace(p, id=len(passages) + i) for i, p in enumerate(earlier[1]))
                texts.extend(reused)
                if notify:
                    notify(BuildProgress("chunk", len(passages), None))
                continue
        # room for the prompt, <s> and </s>, the title and its separator
        budget = settings.passage_tokens - embedder.prompt_tokens - 2 - (title_tokens + 1 if title else 0)
        chunker = Chunker(embedder.count_tokens, embedder.token_spans, budget, settings.overlap_sentences)
        first = len(passages)
        for seq, span in enumerate(chunker.chunk(article.text)):
            body = article.text[span.start : span.end]
            text = f"{title}\n{body}" if title else body
            passages.append(
                Passage(len(passages), article.id, seq, span.start, span.end, body, span.n_tokens, text_hash(text))
            )
            texts.append(text)
        if mixes_scripts(article.text) and len(passages) - first > 1:
            detector = detector or LanguageDetector()
            found = detector.detect_many([p.text for p in passages[first:]])
            for i, lang in enumerate(found, start=first):
                if lang and lang != article.lang:
                    passages[i] = replace(passages[i], lang=lang)
        if notify:
            notify(BuildProgress("chunk", len(passages), None))
    return passages, texts


def _previous(settings: Settings, embedder: Embedder, current: LoadedIndex | None = None) -> LoadedIndex | None:
    """The current index (``current`` when the caller has it open already), when its vectors can be reused."""
    try:
        previous = current or open_index(settings.index_dir)
    except SemsearchError:
        return None  # no index yet, or a damaged one: build from scratch
    m = previous.manifest
    same = (
        m.model.fingerprint == embedder.fingerprint
        and m.model.dimension == embedder.dimension
        and m.model.encoder == _backend(embedder)
        and m.chunker == ChunkerInfo(settings.passage_tokens, settings.overlap_sentences)
        and m.language_centring == default_strength(settings.language_neutral)
    )
    return previous if same else None


def _vectors(
    plan: Plan,
    previous: LoadedIndex | None,
    embedder: Embedder,
    notify: ProgressCallback,
    precomputed: Mapping[str, Encoded] | None,
    cache: EmbeddingCache | None,
) -> tuple[np.ndarray, SentenceVectors, dict[str, int]]:
    """Raw vectors and sentence vectors for every row: copied from the previous index where the text is
    unchanged, taken from ``precomputed`` or the embedding cache where there, else encoded (sentence
    vectors come from the same forward pass) and cached.

    Texts are encoded shortest first in calls of similar lengths, each call's batch size set by the
    padded-token budget, so padding stays small and short texts run in large batches.
    """
    raw = np.zeros((len(plan.ids), embedder.dimension), dtype=np.float32)
    per_row: list[np.ndarray] = [np.zeros((0, embedder.dimension), np.float32)] * len(plan.ids)
    reuse = np.flatnonzero(plan.reused_from >= 0)
    if len(reuse) and previous is not None:
        source = previous.rows
        positions = source.positions(plan.reused_from[reuse])
        raw[reuse] = source.raw[positions]
        for i, position in zip(reuse.tolist(), positions.tolist()):
            per_row[i] = previous.sentences.of(position)
    bodies = {p.id: p.text for p in plan.passages}
    missing = np.flatnonzero(plan.reused_from < 0).tolist()
    spans = {
        i: body_sentence_spans(plan.texts[i], bodies[int(plan.ids[i])]) if int(plan.ids[i]) in bodies else []
        for i in missing
    }
    counts = {"vectors_precomputed": 0, "vectors_cached": 0, "vectors_encoded": 0}
    if precomputed:
        given = {i: entry for i in missing if (entry := precomputed.get(text_hash(plan.texts[i]))) is not None}
        for i, (given_vector, given_sentences) in given.items():
            raw[i], per_row[i] = given_vector, given_sentences
        missing = [i for i in missing if i not in given]
        counts["vectors_precomputed"] = len(given)
        if cache is not None:  # encoded on Ray workers for this build: kept for the next one, as if here
            cache.put_many((cache.key(plan.texts[i], spans[i]), raw[i], per_row[i]) for i in given)
    keys: dict[int, str] = {}
    if cache is not None:
        keys = {i: cache.key(plan.texts[i], spans[i]) for i in missing}
        found = cache.get_many(list(keys.values()))
        for i in missing:
            if (hit := found.get(keys[i])) is not None:
                raw[i], per_row[i] = hit
        before, missing = len(missing), [i for i in missing if keys[i] not in found]
        counts["vectors_cached"] = before - len(missing)
    # encoded for this build: here, or on Ray workers (the vectors_precomputed of them)
    counts["vectors_encoded"] = len(missing) + counts["vectors_precomputed"]
    lengths = embedder.count_tokens([plan.texts[i] for i in missing]) if missing else []
    order = [missing[j] for j in np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")]
    longest = dict(zip(missing, lengths))
    if order or precomputed is None:  # a Ray build (precomputed vectors) has reported its embedding already
        notify(BuildProgress("embed", 0, len(order)))
    for start in range(0, len(order), _ENCODE_CHUNK):
        part = order[start : start + _ENCODE_CHUNK]
        batch = batch_size(len(part), longest[part[-1]], embedder.prompt_tokens)
        vectors, sentences = encode_with_sentences(
            embedder, [plan.texts[i] for i in part], [spans[i] for i in part], batch
        )
        raw[part] = vectors
        for i, block in zip(part, sentences):
            per_row[i] = block
        if cache is not None:
            cache.put_many((keys[i], raw[i], per_row[i]) for i in part)
        notify(BuildProgress("embed", start + len(part), len(order)))
    return raw, SentenceVectors.from_rows(per_row, embedder.dimension), counts


@contextlib.contextmanager
def _encoding(
    embedder: Embedder, settings: Settings, notices: list[str]
) -> Iterator[tuple[Embedder, EmbeddingCache | None]]:
    """The encoder to use (a pool of processes where the machine has the cores for it) and the embedding
    cache (None when off or unusable, with a notice); both closed afterwards."""
    cache: EmbeddingCache | None = None
    if settings.cache_bytes > 0:
        opened = EmbeddingCache.open(
            settings.cache_dir, embedder.fingerprint, _backend(embedder), settings.cache_bytes, embedder.dimension
        )
        if isinstance(opened, str):
            notices.append(opened)
        else:
            cache = opened
    encoder: Embedder = embedder
    pool: EncodePool | None = None
    workers, threads = encode_workers(
        settings.encode_workers, _backend(embedder), available_cores(), ENCODE_THREADS_PER_WORKER
    )
    if workers > 1 and embedder.backend in BACKENDS:  # a backend workers can load (not a test embedder)
        factory = partial(
            load_embedder, settings.model, settings.models_dir, _backend(embedder), use_gpu=False
        )  # fmt: skip
        pool = EncodePool(embedder, factory, workers, threads)
        encoder = pool
    try:
        yield encoder, cache
    finally:
        if pool is not None:
            pool.close()
        if cache is not None:
            notices.extend(cache.notices)
            cache.close()


def _backend(embedder: Embedder) -> str:
    """The embedder's backend, as the index and the embedding cache record it."""
    return embedder.backend


def memory_budget() -> int:
    """Bytes an index may use by default: half of this machine's memory."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError):  # pragma: no cover - non-POSIX
        return 8 << 30


def _centred(rows: VectorRows, means: LanguageMeans) -> np.ndarray:
    return np.vstack(
        [means.apply(rows.raw[i : i + _ADD_CHUNK], rows.langs[i : i + _ADD_CHUNK]) for i in range(0, len(rows), _ADD_CHUNK)]
    ) if len(rows) else np.zeros((0, rows.raw.shape[1]), np.float32)  # fmt: skip


def _index(
    rows: VectorRows, previous: LoadedIndex | None, settings: Settings
) -> tuple[FaissIndex, LanguageMeans, np.ndarray, str, np.ndarray, np.ndarray | None]:
    """Update the previous vector index in place when the rules allow, else build one from scratch.

    Returns the index, its language means, masked ids, the mode, the held-out rows and, for a build
    from scratch, the centred vectors it was built from (so they are computed once per build).
    """
    dim = rows.raw.shape[1]
    spec = parse_spec(settings.index_spec, len(rows), dim, memory_budget())
    if previous is not None and str(previous.vectors.spec) == str(spec):
        updated = _update(rows, previous)
        if updated is not None:
            return (*updated, np.zeros(0, np.int64), None)
    strength = default_strength(settings.language_neutral)
    means = LanguageMeans.fit(rows.raw, list(rows.langs), strength) if strength else LanguageMeans.off(dim)
    index = create_vector_index(spec, dim)
    centred = _centred(rows, means)
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
    return index, means, np.zeros(0, np.int64), "full", holdout, centred


def _update(rows: VectorRows, previous: LoadedIndex) -> tuple[FaissIndex, LanguageMeans, np.ndarray, str] | None:
    m = previous.manifest
    if previous.vectors.spec.kind == "IVF" and len(rows) > IVF_RETRAIN_GROWTH * max(1, m.build.get("trained_on", 0)):
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
    return index, means, masked, "incremental"


def _trained_on(previous: LoadedIndex | None, mode: str, n: int) -> int:
    if mode == "incremental" and previous is not None:
        return int(previous.manifest.build.get("trained_on", n))
    return n


def _manifest(
    work: Path,
    articles: list[Article],
    plan: Plan,
    embedder: Embedder,
    settings: Settings,
    skipped: list[Skipped],
    sources: list[Path],
    started: float,
    index: FaissIndex,
    tuning: object,
    means: LanguageMeans,
    stats: dict[str, object],
) -> Manifest:
    from importlib.metadata import version

    languages: dict[str, int] = {}
    for article in articles:
        languages[article.lang or "?"] = languages.get(article.lang or "?", 0) + 1
    manifest = Manifest(
        semsearch_version=version("semsearch"),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=ModelInfo(
            embedder.name, embedder.source, embedder.fingerprint, embedder.dimension, encoder=_backend(embedder)
        ),
        chunker=ChunkerInfo(settings.passage_tokens, settings.overlap_sentences),
        index_spec=str(index.spec),
        index_params=dict(index.params),
        recall=tuning.as_dict(),  # type: ignore[attr-defined]
        language_centring=means.strength,
        articles=len(articles),
        passages=len(plan.passages),
        headlines=len(plan.headline_ids),
        skipped=count(skipped),
        languages=dict(sorted(languages.items(), key=lambda kv: -kv[1])),
        sources=[str(s.resolve()) for s in sources],
        build_seconds=round(time.perf_counter() - started, 3),
        build=stats,
        files=describe_files(work),
    )
    (work / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest
