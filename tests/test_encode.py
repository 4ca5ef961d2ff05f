"""The build's chain of vector sources: each row's vector comes from the first source that holds it (the
current index, precomputed vectors, the embedding cache, the encoder), and new vectors reach the cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index import Settings, build_index
from index.build.chunk import chunk_articles
from index.build.encode import find_vectors
from index.build.plan import Plan, plan_ids
from index.build.reading import assemble, local_entries
from index.build.report import VectorCounts, silent
from index.chunking import passage_sentences
from index.hashing import text_hash
from index.ingest.formats import ReadOptions
from index.storage.versions import open_index
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


class _CountingEmbedder(HashEmbedder):
    """The plumbing embedder, recording every text handed to its tokenizer."""

    def __init__(self) -> None:
        super().__init__()
        self.tokenised: list[str] = []

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        self.tokenised.extend(texts)
        return super().count_tokens(texts)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        self.tokenised.append(text)
        return super().token_spans(text)


def test_a_build_tokenises_each_passage_once_and_stores_its_sentences(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx")
    embedder = _CountingEmbedder()
    build_index([write_corpus(tmp_path / "corpus")], settings, embedder=embedder)
    loaded = open_index(settings.index_dir)
    articles = loaded.store.all_articles()
    passages = [p for a in articles for p in loaded.store.passages_of(a.id)]
    # an article's text is tokenised once, sentence by sentence, to pack its passages; its title once as their
    # context and once as a headline. No passage is tokenised again, alone or with its title.
    assert sum(map(len, embedder.tokenised)) <= sum(len(a.text) + 2 * len(a.title) for a in articles)
    several = [p for p in passages if len(p.sentences) > 1]
    assert several and not {p.text for p in several} & set(embedder.tokenised)
    # each passage keeps its sentences, one stored sentence vector each
    positions = loaded.rows.positions(np.array([p.id for p in passages], dtype=np.int64))
    for passage, position in zip(passages, positions.tolist()):
        assert passage.sentences == passage_sentences(passage.text)
        assert len(loaded.sentences.of(position)) == len(passage.sentences)
    loaded.close()


def test_the_plan_carries_each_text_hash_once_computed(tmp_path: Path) -> None:
    plan = _plan(write_corpus(tmp_path / "corpus"), HashEmbedder(), Settings(home=tmp_path, index_dir=tmp_path))
    assert plan.hashes == [text_hash(t) for t in plan.texts]
    by_id = {p.id: p.embed_hash for p in plan.passages}
    assert all(by_id[i] == h for i, h in zip(plan.ids.tolist(), plan.hashes) if i in by_id)
