"""The build pipeline: read sources, chunk, embed, write vectors and store, publish atomically."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.centring import STRENGTH as CENTRING_STRENGTH
from index.centring import centre, language_means
from index.chunker import Chunker
from index.embedding import Embedder, load_embedder
from index.errors import NothingToIndexError, SemsearchError
from index.index_dir import build_lock, new_work_folder, publish
from index.language import LanguageDetector
from index.manifest import (
    LANGUAGE_MEANS_FILE,
    MANIFEST_FILE,
    STORE_FILE,
    VECTORS_FILE,
    ChunkerInfo,
    Manifest,
    ModelInfo,
    describe_files,
)
from index.records import Article, Passage, Skipped
from index.settings import TITLE_CONTEXT_SHARE, Settings
from index.sources import iter_articles
from index.store import create_store
from index.vectors import HEADLINE_ID_BASE, create_vector_index

# Passages handed to the model per call: large enough to keep it busy, small enough for live progress.
_ENCODE_CHUNK = 256


@dataclass(frozen=True)
class BuildProgress:
    """One progress event: ``stage`` is "read", "chunk", "embed" or "write"."""

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
    seconds: float
    encode_seconds: float

    @property
    def passages_per_second(self) -> float:
        """Passages per second over the whole build."""
        return self.manifest.passages / self.seconds if self.seconds else 0.0


ProgressCallback = Callable[[BuildProgress], None]


def build_index(
    sources: Iterable[Path],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Build an index of every article under ``sources`` into ``settings.index_dir`` and swap it in."""
    started = time.perf_counter()
    notify = progress or (lambda event: None)
    sources = list(sources)
    with build_lock(settings.index_dir):
        articles, skipped = _read(sources, notify)
        embedder = embedder or load_embedder(settings.model, settings.models_dir)
        if settings.passage_tokens > embedder.max_tokens:
            raise SemsearchError(
                f"--passage-tokens {settings.passage_tokens} exceeds the model's limit of {embedder.max_tokens}."
            )
        passages, texts = chunk_articles(articles, embedder, settings, notify)
        # each headline also gets a vector of its own: it is the densest summary of a news article
        headlines = [(HEADLINE_ID_BASE + n, a) for n, a in enumerate(articles, start=1) if a.title.strip()]
        texts += [a.title for _, a in headlines]
        encode_started = time.perf_counter()
        vectors = _encode(embedder, texts, settings.encode_batch, notify)
        encode_seconds = time.perf_counter() - encode_started
        work = new_work_folder(settings.index_dir)
        try:
            notify(BuildProgress("write", 0, 1))
            ids = np.array([p.id for p in passages] + [i for i, _ in headlines], dtype=np.int64)
            lang_of = {a.id: a.lang for a in articles}
            langs = [lang_of[p.article_id] for p in passages] + [a.lang for _, a in headlines]
            manifest = _write(
                work, articles, passages, ids, langs, vectors, embedder, settings, skipped, sources, started
            )
            version = publish(settings.index_dir, work)
            notify(BuildProgress("write", 1, 1))
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return BuildReport(
        settings.index_dir, version.name, manifest, skipped, time.perf_counter() - started, encode_seconds
    )


def _read(sources: list[Path], notify: ProgressCallback) -> tuple[list[Article], list[Skipped]]:
    articles: list[Article] = []
    skipped: list[Skipped] = []
    detector = LanguageDetector()
    for item in iter_articles(sources, detector):
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            articles.append(item)
            notify(BuildProgress("read", len(articles), None))
    if not articles:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5]) or "no files found"
        raise NothingToIndexError(
            f"No readable article in {', '.join(map(str, sources))} ({reasons}). "
            "Point `semsearch build` at .txt, .md, .jsonl or .json files."
        )
    return articles, skipped


def chunk_articles(
    articles: list[Article], embedder: Embedder, settings: Settings, notify: ProgressCallback | None = None
) -> tuple[list[Passage], list[str]]:
    """Cut articles into passages; returns the passages and the texts to embed (title context + passage)."""
    passages: list[Passage] = []
    texts: list[str] = []
    title_cap = int(settings.passage_tokens * TITLE_CONTEXT_SHARE)
    title_counts = embedder.count_tokens([a.title for a in articles])
    for article, title_tokens in zip(articles, title_counts):
        title = article.title
        if title_tokens > title_cap:  # keep the title's head: it is context, not content
            spans = embedder.token_spans(title)
            title, title_tokens = title[: spans[title_cap - 1][1]], title_cap
        # room for the prompt, <s> and </s>, the title and its separator
        budget = settings.passage_tokens - embedder.prompt_tokens - 2 - (title_tokens + 1 if title else 0)
        chunker = Chunker(embedder.count_tokens, embedder.token_spans, budget, settings.overlap_sentences)
        for seq, span in enumerate(chunker.chunk(article.text)):
            body = article.text[span.start : span.end]
            passages.append(Passage(len(passages), article.id, seq, span.start, span.end, body, span.n_tokens))
            texts.append(f"{title}\n{body}" if title else body)
        if notify:
            notify(BuildProgress("chunk", len(passages), None))
    return passages, texts


def _encode(embedder: Embedder, texts: list[str], batch: int, notify: ProgressCallback) -> np.ndarray:
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    notify(BuildProgress("embed", 0, len(texts)))
    for start in range(0, len(texts), _ENCODE_CHUNK):
        part = texts[start : start + _ENCODE_CHUNK]
        out[start : start + len(part)] = embedder.encode_passages(part, batch)
        notify(BuildProgress("embed", start + len(part), len(texts)))
    return out


def _write(
    work: Path,
    articles: list[Article],
    passages: list[Passage],
    ids: np.ndarray,
    langs: list[str | None],
    vectors: np.ndarray,
    embedder: Embedder,
    settings: Settings,
    skipped: list[Skipped],
    sources: list[Path],
    started: float,
) -> Manifest:
    from importlib.metadata import version

    index = create_vector_index(settings.index_spec, embedder.dimension)
    if settings.language_neutral:
        means = language_means(vectors, langs)
        np.savez(work / LANGUAGE_MEANS_FILE, langs=np.array(list(means)), means=np.stack(list(means.values())))
        vectors = centre(vectors, langs, means)
    index.add(ids, vectors)
    index.save(work / VECTORS_FILE)
    create_store(work / STORE_FILE, articles, passages)
    languages: dict[str, int] = {}
    for article in articles:
        languages[article.lang or "?"] = languages.get(article.lang or "?", 0) + 1
    manifest = Manifest(
        semsearch_version=version("semsearch"),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=ModelInfo(embedder.name, embedder.source, embedder.fingerprint, embedder.dimension),
        chunker=ChunkerInfo(settings.passage_tokens, settings.overlap_sentences),
        index_spec=settings.index_spec,
        language_centring=CENTRING_STRENGTH if settings.language_neutral else 0.0,
        articles=len(articles),
        passages=len(passages),
        headlines=len(ids) - len(passages),
        skipped=len(skipped),
        languages=dict(sorted(languages.items(), key=lambda kv: -kv[1])),
        sources=[str(s.resolve()) for s in sources],
        build_seconds=round(time.perf_counter() - started, 3),
        files=describe_files(work),
    )
    (work / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest
