"""Encoder backends and encoding throughput plumbing: backend choice (GPU included, decided here without
one), token-budget batches, the embedding cache (hits, corruption, size bound, read-only folder), the
encode pool and the query-vector LRU. Plumbing tests use the hashing embedder; the int8 model tests at
the end use the real model (slow)."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from index import Settings, build_index, load_embedder, open_index
from index.embedding.backends import (
    INTERCHANGEABLE,
    ONNX_INT8,
    TORCH_FP16_CUDA,
    TORCH_FP32,
    check_interchangeable,
    choose_backend,
)
from index.embedding.batches import token_batches
from index.embedding.cache import CACHE_FILE, EmbeddingCache, cache_stats
from index.embedding.pool import EncodePool, encode_workers
from index.errors import IndexMismatchError, SemsearchError
from index.storage.sources import SOURCES_FILE
from search.cli import app
from search.query_cache import QueryVectorCache
from tests.conftest import SEEDS, HashEmbedder, write_corpus


@pytest.mark.parametrize(
    ("requested", "cuda", "allowed", "expected"),
    [
        ("auto", False, True, TORCH_FP32),
        ("auto", True, True, TORCH_FP16_CUDA),
        ("auto", True, False, TORCH_FP32),  # --no-gpu
        ("fast", False, True, ONNX_INT8),
        ("fast", True, True, TORCH_FP16_CUDA),  # a GPU beats int8 on a CPU, in speed and fidelity
        ("fast", True, False, ONNX_INT8),
        ("onnx-int8", True, True, ONNX_INT8),  # named outright: used as named
        ("torch-fp32", True, True, TORCH_FP32),
        ("torch-fp16-cuda", True, True, TORCH_FP16_CUDA),
    ],
)
def test_the_backend_follows_the_request_and_the_hardware(
    requested: str, cuda: bool, allowed: bool, expected: str
) -> None:
    assert choose_backend(requested, cuda_available=cuda, gpu_allowed=allowed) == expected


def test_a_gpu_backend_without_a_gpu_and_an_unknown_encoder_are_refused() -> None:
    with pytest.raises(SemsearchError, match="no CUDA GPU"):
        choose_backend(TORCH_FP16_CUDA, cuda_available=False)
    with pytest.raises(SemsearchError, match="turned off"):
        choose_backend(TORCH_FP16_CUDA, cuda_available=True, gpu_allowed=False)
    with pytest.raises(SemsearchError, match="Unknown encoder 'int4'"):
        choose_backend("int4", cuda_available=False)


def test_only_measured_backend_pairs_may_query_each_others_index() -> None:
    check_interchangeable(ONNX_INT8, ONNX_INT8)
    for index_backend, query_backend in INTERCHANGEABLE:
        check_interchangeable(index_backend, query_backend)
    with pytest.raises(IndexMismatchError, match="--encoder onnx-int4"):
        check_interchangeable("onnx-int4", TORCH_FP32)


def test_token_batches_cover_every_text_once_within_the_budget() -> None:
    rng = np.random.default_rng(0)
    lengths = [*rng.integers(3, 130, size=500).tolist(), 900]  # one longer than the budget
    batches = token_batches(lengths, budget=1024, max_count=64)
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in seen] == sorted(lengths)  # shortest first: similar lengths share a batch
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) <= 64 and (len(batch) * longest <= 1024 or len(batch) == 1)
    short = token_batches([10] * 200, budget=1024, max_count=256)
    assert max(len(b) for b in short) == 102  # short texts run in large batches


@pytest.mark.parametrize(
    ("requested", "backend", "cores", "expected"),
    [
        (0, TORCH_FP32, 2, (1, 2)),  # this project's machines: one process, both cores
        (0, ONNX_INT8, 16, (4, 4)),
        (0, TORCH_FP32, 6, (1, 6)),
        (3, ONNX_INT8, 12, (3, 4)),
        (64, ONNX_INT8, 8, (8, 1)),  # capped at the cores
        (0, TORCH_FP16_CUDA, 32, (1, 32)),  # one GPU: in-process
    ],
)
def test_encode_workers_share_the_cores(requested: int, backend: str, cores: int, expected: tuple[int, int]) -> None:
    assert encode_workers(requested, backend, cores, 4) == expected


def _hash_factory(dimension: int, threads: int) -> HashEmbedder:
    return HashEmbedder(dimension)


def test_the_encode_pool_returns_what_one_process_does() -> None:
    texts = [f"story number {i} about the harbour and the bridge {i * 7}" for i in range(23)]
    spans = [[(0, 5), (6, 12)] for _ in texts]
    local = HashEmbedder(32)
    pool = EncodePool(local, partial(_hash_factory, 32), workers=2, threads=1)
    try:
        vectors, pooled = pool.encode_passages_pooled(texts, spans, 8)
        assert pool.workers == 2 and pool.dimension == 32  # the rest is answered by the local embedder
    finally:
        pool.close()
    expected, expected_pooled = local.encode_passages_pooled(texts, spans, 8)
    assert np.allclose(vectors, expected) and all(np.allclose(a, b) for a, b in zip(pooled, expected_pooled))


def _settings(tmp_path: Path, name: str = "index", **more: object) -> Settings:
    return Settings(home=tmp_path / "home", index_dir=tmp_path / name).with_overrides(**more)


def test_a_build_into_a_new_folder_takes_every_vector_from_the_cache(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    first = build_index([corpus], _settings(tmp_path, "a"), embedder=HashEmbedder())
    embedder = HashEmbedder()
    second = build_index([corpus], _settings(tmp_path, "b"), embedder=embedder)
    total = first.manifest.passages + first.manifest.headlines
    assert first.manifest.build.vectors_encoded == total and first.manifest.build.vectors_cached == 0
    assert second.manifest.build.vectors_cached == total and second.manifest.build.vectors_encoded == 0
    assert embedder.encoded == 0
    a, b = open_index(tmp_path / "a"), open_index(tmp_path / "b")
    assert np.array_equal(a.rows.raw, b.rows.raw)  # passage vectors stored exactly
    assert np.allclose(a.sentences.of(0), b.sentences.of(0), atol=1e-3)  # float16, as the index keeps them
    # re-chunking: shorter passages are new text; the headlines embed the same text and come from the cache
    third = build_index([corpus], _settings(tmp_path, "c", passage_tokens=24), embedder=HashEmbedder())
    assert third.manifest.build.vectors_cached >= third.manifest.headlines


def test_a_corrupt_cache_entry_is_detected_and_recomputed(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = _settings(tmp_path, "a")
    build_index([corpus], settings, embedder=HashEmbedder())
    with sqlite3.connect(settings.cache_dir / CACHE_FILE) as db:  # flip bytes of two stored vectors
        keys = [k for (k,) in db.execute("SELECT key FROM vectors LIMIT 2")]
        for key in keys:
            (blob,) = db.execute("SELECT vector FROM vectors WHERE key = ?", (key,)).fetchone()
            db.execute("UPDATE vectors SET vector = ? WHERE key = ?", (bytes(b ^ 0xFF for b in blob), key))
    embedder = HashEmbedder()
    report = build_index([corpus], _settings(tmp_path, "b"), embedder=embedder)
    assert report.manifest.build.vectors_encoded == 2 and embedder.encoded == 2
    assert np.array_equal(open_index(tmp_path / "a").rows.raw, open_index(tmp_path / "b").rows.raw)


def test_the_cache_keeps_to_its_size_bound_dropping_the_least_recently_used(tmp_path: Path) -> None:
    opened = EmbeddingCache.open(tmp_path / "cache", "fp", TORCH_FP32, max_bytes=20_000)
    assert isinstance(opened, EmbeddingCache)
    vector, sentences = np.ones(64, np.float32), np.ones((2, 64), np.float32)
    opened.put_many((f"k{i}", vector, sentences) for i in range(10))
    opened.get_many(["k0"])  # used: k0 is now the most recent
    opened.put_many((f"n{i}", vector, sentences) for i in range(40))
    stats = cache_stats(tmp_path / "cache", 20_000)
    assert stats.bytes <= 20_000 and 0 < stats.entries < 50
    kept = opened.get_many([f"k{i}" for i in range(10)])
    assert set(kept) <= {"k0"} and "n39" in opened.get_many(["n39"])  # the least recently used went first


def test_an_unusable_cache_folder_leaves_the_build_going(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.home.mkdir(parents=True)
    settings.cache_dir.write_text("a file where the cache folder should be")  # as unusable as a read-only one
    report = build_index([write_corpus(tmp_path / "corpus")], settings, embedder=HashEmbedder())
    assert report.manifest.articles == 7
    assert any("cannot be used" in n and "building without it" in n for n in report.notices), report.notices


def test_a_full_cache_stops_caching_and_says_so(tmp_path: Path) -> None:
    opened = EmbeddingCache.open(tmp_path / "cache", "fp", TORCH_FP32, max_bytes=1 << 30)
    assert isinstance(opened, EmbeddingCache)
    pages = opened._db.execute("PRAGMA page_count").fetchone()[0]
    opened._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: SQLite can grow no further
    opened.put_many((f"k{i}", np.ones(384, np.float32), np.ones((4, 384), np.float32)) for i in range(200))
    assert not opened.enabled and "full" in opened.notices[0] and "without caching" in opened.notices[0]
    opened.put_many([("later", np.ones(384, np.float32), np.ones((1, 384), np.float32))])  # ignored, no error
    assert opened.get_many(["k0"]) == {}


def test_a_cache_that_cannot_be_written_switches_off_with_a_notice(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.cache_dir.mkdir(parents=True)
    (settings.cache_dir / CACHE_FILE).write_bytes(b"not a database" * 100)  # also what a full disk leaves
    report = build_index([write_corpus(tmp_path / "corpus")], settings, embedder=HashEmbedder())
    assert report.manifest.articles == 7
    assert any("cache" in n and "without" in n for n in report.notices), report.notices


def test_semsearch_cache_shows_and_clears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path)
    build_index([write_corpus(tmp_path / "corpus")], settings, embedder=HashEmbedder())
    monkeypatch.setenv("SEMSEARCH_HOME", str(settings.home))
    runner = CliRunner()
    shown = runner.invoke(app, ["cache", "--json"])
    assert shown.exit_code == 0, shown.output
    data = __import__("json").loads(shown.output)
    assert data["entries"] > 0 and data["by_model"] == {"hash-v1 hash": data["entries"]}
    cleared = runner.invoke(app, ["cache", "--clear"])
    assert cleared.exit_code == 0 and "freed" in cleared.output
    assert cache_stats(settings.cache_dir, 1).entries == 0


def test_the_query_lru_encodes_each_query_once() -> None:
    inner = HashEmbedder()
    cache = QueryVectorCache(inner, entries=2)
    first = cache.encode_queries(["treaty", "flood", "treaty"])
    assert inner.encoded == 2 and np.allclose(first[0], first[2])
    assert np.allclose(cache.encode_queries(["flood"]), first[1:2]) and inner.encoded == 2
    cache.encode_queries(["quake"])  # evicts the least recently used: "treaty"
    cache.encode_queries(["treaty"])
    assert inner.encoded == 4 and cache.hits == 1 and cache.dimension == inner.dimension


def test_the_fast_encoder_without_onnx_runtime_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(SemsearchError, match=r"pip install onnxruntime onnx"):
        load_embedder(str(model), tmp_path / "models", "onnx-int8")


def test_fast_and_another_encoder_contradict(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["build", str(SEEDS), "--index", str(tmp_path / "i"), "--fast", "--encoder", "torch-fp32"]
    )
    assert result.exit_code == 2 and "contradict" in result.output


class _CountingHash(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.counted = 0

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        self.counted += len(texts)
        return super().count_tokens(texts)


def test_a_rebuild_with_nothing_changed_encodes_and_rechunks_nothing(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = _settings(tmp_path, cache_bytes=0)
    first = build_index([corpus], settings, embedder=HashEmbedder())
    (settings.index_dir / SOURCES_FILE).unlink()  # the build reads again (test_build_sources: when it need not)
    embedder = _CountingHash()
    again = build_index([corpus], settings, embedder=embedder)
    assert embedder.encoded == 0 and not again.published  # nothing changed: nothing encoded, nothing published
    assert embedder.counted == first.manifest.articles  # the titles only: no article was chunked again
    a, b = open_index(settings.index_dir), first.manifest
    assert a.manifest.passages == b.passages and a.store.passage_keys() == sorted(a.store.passage_keys())
    (corpus / "en_quake.txt").write_text("Earthquake strikes Indonesia\n\nA changed body.", encoding="utf-8")
    changed = build_index([corpus], settings, embedder=_CountingHash())
    assert changed.manifest.build.vectors_encoded == 1  # the changed article's one passage


def test_an_engine_encodes_a_repeated_query_once_across_modes_and_filters(tmp_path: Path) -> None:
    from index import Filter
    from search.engine import SearchEngine

    settings = _settings(tmp_path)
    build_index([write_corpus(tmp_path / "corpus")], settings, embedder=HashEmbedder())
    embedder = HashEmbedder()
    engine = SearchEngine(open_index(settings.index_dir), embedder)
    engine.search("earthquake rescue", mode="dense")
    engine.search("earthquake rescue", mode="hybrid", filters=Filter(langs=("en",)))
    engine.search("earthquake rescue", offset=1, k=2)
    assert embedder.encoded == 1


def test_cached_vectors_of_another_dimension_are_misses(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    build_index([corpus], _settings(tmp_path, "a"), embedder=HashEmbedder(64))
    report = build_index([corpus], _settings(tmp_path, "b"), embedder=HashEmbedder(32))  # same fingerprint
    assert report.manifest.build.vectors_cached == 0 and open_index(tmp_path / "b").rows.raw.shape[1] == 32
