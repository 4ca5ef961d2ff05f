"""Retrieval modes, story grouping and snippets through the engine, the CLI and HTTP (plumbing embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from index import Settings, build_index, open_index
from index.errors import InvalidQueryError
from search import SearchEngine
from search.api import create_app
from search.cli import app
from tests.conftest import HashEmbedder

STORY = "Rescuers in Palu searched collapsed hotels after the 7.5 quake. Aid arrived by sea on Sunday."
# the same words in another order: a perfect "translation" for the bag-of-words plumbing embedder, yet no
# run of five words in common, so not a copy
SHUFFLED = " ".join(" ".join(reversed(s.split())) for s in STORY.split(". "))
RECORDS = [
    {"id": "quake-en", "title": "Quake hits Palu", "text": STORY, "lang": "en"},
    {"id": "quake-fr", "title": "Quake hits Palu", "text": SHUFFLED, "lang": "fr"},
    # a republished copy with a byline: indexed once, listed on the original
    {"id": "quake-copy", "title": "Palu quake", "text": "By Staff Reporter. " + STORY, "lang": "en", "source": "wire"},
    {"id": "markets", "title": "Markets", "text": "Stocks rose in Tokyo as the yen weakened on Friday.", "lang": "en"},
    {"id": "vote", "title": "Vote", "text": "Macedonians voted on the name of their country.", "lang": "en"},
]


@pytest.fixture
def engine(tmp_path: Path) -> SearchEngine:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS), encoding="utf-8")
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx")
    build_index([tmp_path / "c"], settings, embedder=HashEmbedder())
    return SearchEngine(open_index(settings.index_dir), HashEmbedder())


def test_lexical_mode_scores_by_bm25_only(engine: SearchEngine) -> None:
    result = engine.search("Tokyo yen", k=3, mode="lexical", group="articles")
    assert [h.article_id for h in result.results] == ["markets"]  # nothing else shares a word
    hit = result.results[0]
    assert hit.dense_score is None and hit.lexical_score == hit.score > 0 and result.mode == "lexical"


def test_hybrid_reports_both_scores_and_dense_has_no_lexical(engine: SearchEngine) -> None:
    hybrid = engine.search("Tokyo yen", k=4, group="articles")
    assert hybrid.mode == "hybrid" and hybrid.results[0].article_id == "markets"
    top = hybrid.results[0]
    assert top.dense_score is not None and top.lexical_score is not None
    dense = engine.search("Tokyo yen", k=4, mode="dense", group="articles")
    assert all(h.lexical_score is None and h.score == h.dense_score for h in dense.results)


def test_stories_group_versions_into_one_result(engine: SearchEngine) -> None:
    grouped = engine.search("Palu quake rescue", k=3)
    ids = [h.article_id for h in grouped.results]
    assert len({"quake-en", "quake-fr"} & set(ids)) == 1
    lead = next(h for h in grouped.results if h.article_id in ("quake-en", "quake-fr"))
    assert [v.article_id for v in lead.versions] == [{"quake-en", "quake-fr"}.difference([lead.article_id]).pop()]
    assert lead.story is not None and lead.versions[0].score is not None
    flat = engine.search("Palu quake rescue", k=3, group="articles")
    assert {"quake-en", "quake-fr"} <= {h.article_id for h in flat.results}
    assert all(h.versions == [] for h in flat.results)


def test_a_republished_copy_is_indexed_once_and_listed(engine: SearchEngine) -> None:
    ids = [h.article_id for h in engine.search("Rescuers Palu hotels", k=5, group="articles").results]
    assert "quake-copy" not in ids and "quake-en" in ids
    hit = next(
        h for h in engine.search("Rescuers Palu hotels", k=5, group="articles").results if h.article_id == "quake-en"
    )
    assert [(c.article_id, c.source) for c in hit.republished] == [("quake-copy", "wire")]


def test_snippets_carry_offsets_into_the_article(engine: SearchEngine) -> None:
    hit = engine.search("Aid arrived by sea", k=1, group="articles").results[0]
    article = engine.index.store.article(hit.article_id)
    assert hit.snippet is not None and article is not None
    assert article.text[hit.snippet.start : hit.snippet.end] == hit.snippet.text
    assert {article.text[s.start : s.end] for s in hit.snippet.highlights} >= {"Aid", "arrived", "sea"}
    assert engine.search("Aid arrived", k=1, snippets=False).results[0].snippet is None


@pytest.mark.parametrize(("mode", "group"), [("fuzzy", "stories"), ("hybrid", "clusters")])
def test_unknown_mode_or_grouping_is_refused(engine: SearchEngine, mode: str, group: str) -> None:
    with pytest.raises(InvalidQueryError, match="Unknown"):
        engine.search("quake", mode=mode, group=group)  # type: ignore[arg-type]


def test_cli_and_http_take_mode_and_group(engine: SearchEngine, tmp_path: Path) -> None:
    runner = CliRunner()
    index = str(tmp_path / "idx")
    bad = runner.invoke(app, ["query", "Tokyo yen", "--mode", "fuzzy", "--index", index])
    assert bad.exit_code == 2 and "Unknown mode" in bad.output
    client = TestClient(create_app(engine))
    got = client.get("/query", params={"q": "Tokyo yen", "mode": "lexical", "group": "articles"}).json()
    assert got["mode"] == "lexical" and got["results"][0]["article_id"] == "markets"
    posted = client.post("/query", json={"q": "Tokyo yen", "mode": "dense", "snippets": False}).json()
    assert posted["mode"] == "dense" and posted["results"][0]["snippet"] is None
    assert client.get("/query", params={"q": "x", "mode": "fuzzy"}).status_code == 422


def test_paging_continues_the_ranking(engine: SearchEngine) -> None:
    everything = engine.search("Palu quake markets vote", k=4, group="articles", mode="dense").results
    first = engine.search("Palu quake markets vote", k=2, group="articles", mode="dense").results
    second = engine.search("Palu quake markets vote", k=2, offset=2, group="articles", mode="dense").results
    assert [h.article_id for h in first + second] == [h.article_id for h in everything]
    assert [h.rank for h in second] == [3, 4]
    assert engine.search("Palu", k=2, offset=50).results == []
    with pytest.raises(InvalidQueryError, match="offset"):
        engine.search("Palu", k=10, offset=-1)
    client = TestClient(create_app(engine))
    assert client.get("/query", params={"q": "Palu", "offset": 2, "k": 2}).json()["offset"] == 2
    assert client.get("/query", params={"q": "Palu", "offset": -1}).status_code == 422


def test_article_view_ready_and_stats(engine: SearchEngine) -> None:
    client = TestClient(create_app(engine))
    view = client.get("/articles/quake-en").json()
    assert view["article_id"] == "quake-en" and view["passages"][0]["text"] in view["text"]
    assert [v["article_id"] for v in view["versions"]] == ["quake-fr"]
    assert [c["article_id"] for c in view["republished"]] == ["quake-copy"]
    missing = client.get("/articles/no-such-article")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "ArticleNotFoundError"
    assert client.get("/ready").json()["ready"] is True
    for _ in range(3):
        client.get("/query", params={"q": "Palu"})
    stats = client.get("/stats").json()
    assert stats["articles"] == 4 and stats["queries"] == 3 and set(stats["query_ms"]) == {"p50", "p90", "p99"}
