"""The index folder: versions, opening one cheaply and safely, leases, checks, and what a build refuses
(plumbing embedder, real FAISS and SQLite files in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Settings, build_index, open_index
from search import SearchEngine
from tests.conftest import HashEmbedder, write_corpus

ONE = {"a.txt": "Alpha\n\nThe first story, about a harbour in the north.",
       "b.txt": "Beta\n\nA second story, about a bridge in the south."}  # fmt: skip


@pytest.mark.parametrize("name", ["with#hash", "with?question", "with%25percent", "with%percent"])
def test_index_paths_with_uri_characters_build_and_answer(tmp_path: Path, name: str) -> None:
    """Issue 18.7: an index path holding `#`, `?` or `%` broke every query (SQLite read it as a URI) and with
    `#`/`?` SQLite created an empty file outside the index folder."""
    base = tmp_path / name
    corpus = write_corpus(base / "corpus", ONE)
    settings = Settings(home=tmp_path / "home", index_dir=base / "index")
    build_index([corpus], settings, embedder=HashEmbedder())
    engine = SearchEngine(open_index(settings.index_dir), HashEmbedder())
    hits = engine.search("bridge south", k=2, group="articles").results
    assert hits[0].article_id == "b.txt"
    assert engine.article("a.txt").title == "Alpha"
    assert sorted(p.name for p in base.iterdir()) == ["corpus", "index"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", name]  # the home holds the embedding cache
