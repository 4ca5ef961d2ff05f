"""The build's chain of vector sources: each row's vector comes from the first source that holds it (the
current index, precomputed vectors, the embedding cache, the encoder), and new vectors reach the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index import Settings, build_index
from index.build.chunk import chunk_articles
from index.build.encode import find_vectors
from index.build.plan import Plan, plan_ids
from index.build.reading import assemble, local_entries
from index.build.report import VectorCounts, silent
from index.hashing import text_hash
from index.ingest.formats import ReadOptions
from tests.conftest import HashEmbedder, write_corpus
from tests.test_reading import Detector


def _plan(corpus: Path, embedder: HashEmbedder, settings: Settings) -> Plan:
    articles = assemble(local_entries([corpus], ReadOptions()), [corpus], Detector()).articles  # type: ignore[arg-type]
    passages, texts = chunk_articles(articles, embedder, settings)
    return plan_ids(articles, passages, texts, None)


def test_precomputed_vectors_come_before_the_encoder_and_are_kept_in_the_cache(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx")
    embedder = HashEmbedder()
    plan = _plan(write_corpus(tmp_path / "corpus"), embedder, settings)
    n = len(plan.texts)
    given = {text_hash(t): (embedder._vector(t), np.zeros((0, 64), np.float32)) for t in plan.texts[:3]}
    first = find_vectors(plan, None, embedder, settings, given, silent, [])
    assert first.counts == VectorCounts(precomputed=3, cached=0, encoded=n - 3)
    assert embedder.encoded == n - 3
    again = HashEmbedder()
    second = find_vectors(plan, None, again, settings, None, silent, [])
    assert second.counts == VectorCounts(cached=n) and again.encoded == 0
    assert np.array_equal(first.raw, second.raw)


def test_the_current_index_comes_before_the_cache(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx")
    first = build_index([corpus], settings, embedder=HashEmbedder())
    total = first.manifest.passages + first.manifest.headlines
    (corpus / "new.txt").write_text("Lighthouse\n\nA new lighthouse was lit on the northern cape.", encoding="utf-8")
    embedder = HashEmbedder()
    second = build_index([corpus], settings, embedder=embedder)
    build = second.manifest.build
    assert build.vectors_reused == total and build.vectors_cached == 0  # the cache holds them too
    assert build.vectors_encoded == embedder.encoded == second.manifest.passages + second.manifest.headlines - total
