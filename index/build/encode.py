"""Finding every row's vectors: a chain of sources, each asked for the rows still missing, in order —

1. the current index (the exact text was embedded before by the same weights: copied, never re-encoded),
2. vectors precomputed for this build (a Ray build's workers),
3. the embedding cache (texts embedded by an earlier build, of any index),
4. the encoder (a pool of processes where the machine has the cores for it).

Vectors new to this machine (precomputed or encoded) are written to the embedding cache as they arrive, so
an interrupted build leaves them for the next one. A row's sentence vectors travel with its vector.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import numpy as np

from ..chunking import CountTokens
from ..embedding import Embedder, encode_with_sentences, load_embedder
from ..embedding.backends import BACKENDS
from ..embedding.batches import batch_size
from ..embedding.cache import EmbeddingCache, Encoded
from ..embedding.pool import EncodePool, available_cores, encode_workers
from ..models import Passage
from ..settings import ENCODE_THREADS_PER_WORKER, Settings
from ..storage.sentences import SentenceVectors, in_embedded_text
from ..storage.versions import LoadedIndex
from .plan import Plan
from .report import BuildProgress, ProgressCallback, VectorCounts

# Passages handed to the model per call: large enough to keep it busy, small enough for live progress.
_ENCODE_CHUNK = 256


class Gathered:
    """The vectors found so far for every row of a plan (raw: un-centred, normalised), with each row's sentence
    vectors; new vectors are kept in the embedding cache, when there is one. What a passage row needs (its
    sentences, token count, hash) comes with the passage, as chunking made it: nothing is computed again."""

    def __init__(self, plan: Plan, dimension: int, cache: EmbeddingCache | None) -> None:
        self.plan, self.dimension, self.cache = plan, dimension, cache
        self.raw = np.zeros((len(plan.ids), dimension), dtype=np.float32)
        self.sentences: list[np.ndarray] = [np.zeros((0, dimension), np.float32)] * len(plan.ids)
        self._passages = {p.id: p for p in plan.passages}
        self._keys: dict[int, str] = {}

    def text(self, row: int) -> str:
        """The text row ``row`` embeds."""
        return self.plan.texts[row]

    def passage(self, row: int) -> Passage | None:
        """The passage row ``row`` embeds (None for a headline)."""
        return self._passages.get(int(self.plan.ids[row]))

    def spans(self, row: int) -> list[tuple[int, int]]:
        """The sentence spans encoded with the row's text: its passage's sentences (none for a headline)."""
        passage = self.passage(row)
        return [] if passage is None else in_embedded_text(self.plan.texts[row], passage.text, passage.sentences)

    def lengths(self, rows: list[int], count_tokens: CountTokens) -> list[int]:
        """Tokens of each row's text: a passage's as chunking counted them; headlines (titles) counted here."""
        found = {i: passage.n_tokens for i in rows if (passage := self.passage(i)) is not None}
        titles = [i for i in rows if i not in found]
        if titles:
            found.update(zip(titles, count_tokens([self.plan.texts[i] for i in titles])))
        return [found[i] for i in rows]

    def key(self, row: int) -> str:
        """The row's embedding-cache key (there must be a cache), from the hash the plan holds for its text."""
        assert self.cache is not None
        if row not in self._keys:
            self._keys[row] = self.cache.key(self.plan.hashes[row], self.spans(row))
        return self._keys[row]

    def fill(self, row: int, found: Encoded) -> None:
        """Set the row's vector and sentence vectors."""
        self.raw[row], self.sentences[row] = found

    def keep(self, rows: list[int]) -> None:
        """Write these (new) rows' vectors to the embedding cache, for the next build."""
        if self.cache is not None:
            self.cache.put_many((self.key(i), self.raw[i], self.sentences[i]) for i in rows)


class VectorSource(Protocol):
    """One place vectors may come from."""

    def find(self, rows: list[int], gathered: Gathered) -> list[int]:
        """Fill what this source holds of ``rows`` (ascending); returns the rows filled."""
        ...


@dataclass(frozen=True)
class CurrentIndex:
    """The current index: a row whose exact text it embedded (``plan.reused_from``) gets its vectors copied."""

    index: LoadedIndex

    def find(self, rows: list[int], gathered: Gathered) -> list[int]:
        """The rows the plan reuses, copied."""
        reused_from = gathered.plan.reused_from
        asked = np.asarray(rows, dtype=np.int64)
        reuse = asked[reused_from[asked] >= 0]
        if not len(reuse):
            return []
        positions = self.index.rows.positions(reused_from[reuse])
        gathered.raw[reuse] = self.index.rows.raw[positions]
        for i, position in zip(reuse.tolist(), positions.tolist()):
            gathered.sentences[i] = self.index.sentences.of(position)
        return reuse.tolist()


@dataclass(frozen=True)
class Precomputed:
    """Vectors encoded for this build elsewhere (Ray workers), keyed by the hash of the text embedded."""

    vectors: Mapping[str, Encoded]

    def find(self, rows: list[int], gathered: Gathered) -> list[int]:
        """The rows whose text was encoded, filled and kept in the cache as if encoded here."""
        hashes = gathered.plan.hashes
        given = {i: entry for i in rows if (entry := self.vectors.get(hashes[i])) is not None}
        for i, entry in given.items():
            gathered.fill(i, entry)
        gathered.keep(list(given))
        return list(given)


@dataclass(frozen=True)
class Cached:
    """The embedding cache."""

    cache: EmbeddingCache

    def find(self, rows: list[int], gathered: Gathered) -> list[int]:
        """The rows whose text (with its sentence spans) the cache holds."""
        found = self.cache.get_many([gathered.key(i) for i in rows])
        hits = [i for i in rows if gathered.key(i) in found]
        for i in hits:
            gathered.fill(i, found[gathered.key(i)])
        return hits


@dataclass(frozen=True)
class Encoder:
    """The model: every row asked for is encoded (sentence vectors from the same forward pass) and cached.

    Texts are encoded shortest first in calls of similar lengths, each call's batch size set by the
    padded-token budget, so padding stays small and short texts run in large batches."""

    embedder: Embedder
    notify: ProgressCallback
    announce_none: bool = True  # report an "embed" stage with nothing to encode (a Ray build reported its own)

    def find(self, rows: list[int], gathered: Gathered) -> list[int]:
        """Every row, encoded."""
        lengths = gathered.lengths(rows, self.embedder.count_tokens)
        order = [rows[j] for j in np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")]
        longest = dict(zip(rows, lengths))
        if order or self.announce_none:
            self.notify(BuildProgress("embed", 0, len(order)))
        for start in range(0, len(order), _ENCODE_CHUNK):
            part = order[start : start + _ENCODE_CHUNK]
            batch = batch_size(len(part), longest[part[-1]], self.embedder.prompt_tokens)
            texts, spans = [gathered.text(i) for i in part], [gathered.spans(i) for i in part]
            vectors, sentences = encode_with_sentences(self.embedder, texts, spans, batch)
            for i, vector, block in zip(part, vectors, sentences):
                gathered.fill(i, (vector, block))
            gathered.keep(part)
            self.notify(BuildProgress("embed", start + len(part), len(order)))
        return rows


@dataclass(frozen=True)
class FoundVectors:
    """Every row's raw vector and sentence vectors, and where they came from."""

    raw: np.ndarray
    sentences: SentenceVectors
    counts: VectorCounts
    seconds: float  # spent finding them (encoding, mostly)


def find_vectors(
    plan: Plan,
    previous: LoadedIndex | None,
    embedder: Embedder,
    settings: Settings,
    precomputed: Mapping[str, Encoded] | None,
    notify: ProgressCallback,
    notices: list[str],
) -> FoundVectors:
    """Vectors for every row of ``plan``, from the first source of the chain that holds them."""
    started = time.perf_counter()
    with encoding(embedder, settings, notices) as (encoder, cache):
        chain: list[tuple[str, VectorSource]] = []
        if previous is not None:
            chain.append(("reused", CurrentIndex(previous)))
        if precomputed:
            chain.append(("precomputed", Precomputed(precomputed)))
        if cache is not None:
            chain.append(("cached", Cached(cache)))
        chain.append(("encoded", Encoder(encoder, notify, announce_none=precomputed is None)))
        gathered = Gathered(plan, embedder.dimension, cache)
        missing, found = list(range(len(plan.ids))), dict.fromkeys(("reused", "precomputed", "cached", "encoded"), 0)
        for name, source in chain:
            filled = source.find(missing, gathered)
            found[name] = len(filled)
            done = set(filled)
            missing = [i for i in missing if i not in done]
    sentences = SentenceVectors.from_rows(gathered.sentences, embedder.dimension)
    return FoundVectors(gathered.raw, sentences, VectorCounts(**found), time.perf_counter() - started)


def open_cache(settings: Settings, embedder: Embedder) -> EmbeddingCache | str | None:
    """The embedding cache of ``embedder``'s vectors: None when it is off, a notice when it is unusable."""
    if settings.cache_bytes <= 0:
        return None
    return EmbeddingCache.open(
        settings.cache_dir, embedder.fingerprint, embedder.backend, settings.cache_bytes, embedder.dimension
    )


@contextlib.contextmanager
def encoding(
    embedder: Embedder, settings: Settings, notices: list[str]
) -> Iterator[tuple[Embedder, EmbeddingCache | None]]:
    """The encoder to use (a pool of processes where the machine has the cores for it) and the embedding
    cache (None when off or unusable, with a notice); both closed afterwards."""
    cache: EmbeddingCache | None = None
    opened = open_cache(settings, embedder)
    if isinstance(opened, str):
        notices.append(opened)
    else:
        cache = opened
    encoder: Embedder = embedder
    pool: EncodePool | None = None
    workers, threads = encode_workers(
        settings.encode_workers, embedder.backend, available_cores(), ENCODE_THREADS_PER_WORKER
    )
    if workers > 1 and embedder.backend in BACKENDS:  # a backend workers can load (not a test embedder)
        factory = partial(load_embedder, settings.model, settings.models_dir, embedder.backend, use_gpu=False)
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
