"""Search over a built index (plumbing embedder): grouping by article, exactness, bounds, mismatches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import Filter, Settings, build_index, open_index
from index.errors import IndexMismatchError, IndexNotFoundError, InvalidQueryError
from index.settings import MAX_K, MAX_QUERY_CHARS
from search import SearchEngine
from tests.conftest import HashEmbedder, write_corpus


@pytest.fixture
def engine(tiny_index: Settings) -> SearchEngine:
    return SearchEngine(open_index(tiny_index.index_dir), HashEmbedder())


def test_k_counts_articles_each_once(engine: SearchEngine) -> None:
    result = engine.search("earthquake rescue", k=5)
    ids = [h.article_id for h in result.results]
    assert len(ids) == 5 == len(set(ids))
    assert [h.rank for h in result.results] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(result.results, result.results[1:]))
    assert result.results[0].article_id == "en_quake.txt"


def test_k_above_corpus_size_returns_every_article(engine: SearchEngine) -> None:
    assert len(engine.search("anything", k=MAX_K).results) == 7


def test_hits_carry_metadata_and_offsets(engine: SearchEngine) -> None:
    hit = next(h for h in engine.search("Grève des transports métros", k=7).results if h.article_id == "fr-1")
    assert (hit.lang, hit.source, hit.url, hit.date) == ("fr", "Exemple", "https://example.org/fr-1", "2024-03-04")
    article = engine.index.store.article("fr-1")
    assert article is not None and article.text[hit.passage_start : hit.passage_end] == hit.passage
    other = next(h for h in engine.search("earthquake", k=7).results if h.article_id == "en_quake.txt")
    assert other.source == "en_quake.txt"  # no outlet: the file it came from


def test_article_ranking_equals_brute_force_over_all_vectors(tmp_path: Path) -> None:
    files = {f"a{i:02d}.txt": f"Story {i}\n\n" + " ".join(f"Sentence {i} {j} about topic{(i * j) % 7}." for j in range(30))
             for i in range(25)}  # fmt: skip
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx", passage_tokens=24)
    embedder = HashEmbedder()
    build_index([write_corpus(tmp_path / "c", files)], settings, embedder=embedder)
    loaded = open_index(settings.index_dir)
    engine = SearchEngine(loaded, embedder)
    rows = loaded.rows
    vectors = loaded.means.apply(rows.raw, rows.langs)  # exactly what the index holds
    for query in ["topic3 sentence", "story 12", "topic6"]:
        scores = vectors @ HashEmbedder().encode_queries([query])[0]
        best: dict[int, float] = {}
        for article, score in zip(rows.articles.tolist(), scores.tolist()):
            best[article] = max(best.get(article, -9.0), score)
        expected = sorted(best.values(), reverse=True)[:10]
        got = [h.score for h in engine.search(query, k=10, mode="dense", group="articles").results]
        assert np.allclose(got, expected, atol=1e-5)


def test_filter_returns_the_true_top_k_among_allowed_articles(engine: SearchEngine) -> None:
    allowed = ["zh_rain.txt", "fa-1", "en_football.txt"]
    result = engine.search("earthquake rescue", k=2, article_ids=allowed, mode="dense", group="articles")
    everything = [
        h
        for h in engine.search("earthquake rescue", k=7, mode="dense", group="articles").results
        if h.article_id in allowed
    ]
    assert [h.article_id for h in result.results] == [h.article_id for h in everything[:2]]
    assert len(engine.search("earthquake", k=10, article_ids=["fa-1"]).results) == 1


def test_filter_naming_unknown_articles_is_refused(engine: SearchEngine) -> None:
    with pytest.raises(InvalidQueryError, match="'nope'"):
        engine.search("x", article_ids=["fa-1", "nope"])


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_refused(engine: SearchEngine, query: str) -> None:
    with pytest.raises(InvalidQueryError, match="empty"):
        engine.search(query)


INVISIBLE_QUERIES = ["\x00", "\u200b", "\ufeff", "\u00ad", "\u202e\u2066", "\x00 \u200b\u2060\u200e", "\u200c"]


@pytest.mark.parametrize("query", INVISIBLE_QUERIES)
def test_a_query_of_invisible_characters_is_refused(engine: SearchEngine, query: str) -> None:
    """Issue 18.16: a query of NUL, ZWSP, BOM, soft hyphen or bidi controls only is empty once normalised
    as articles are, and refused like a blank one (it used to return arbitrary articles)."""
    with pytest.raises(InvalidQueryError, match="no visible characters"):
        engine.search(query)
    # the same characters inside words are dropped as they are from articles, and the words still match
    hit = engine.search("earth\u00adquake\u200b \x00rescue", k=1)
    assert hit.query == "earthquake rescue" and hit.results[0].article_id == "en_quake.txt"


def test_overlong_query_is_refused(engine: SearchEngine) -> None:
    with pytest.raises(InvalidQueryError, match=str(MAX_QUERY_CHARS)):
        engine.search("x" * (MAX_QUERY_CHARS + 1))


@pytest.mark.parametrize("k", [0, -1, MAX_K + 1])
def test_k_out_of_bounds_is_refused(engine: SearchEngine, k: int) -> None:
    with pytest.raises(InvalidQueryError, match="k must be"):
        engine.search("quake", k=k)


def test_batch_answers_in_order(engine: SearchEngine) -> None:
    results = engine.search_many(["football cup", "earthquake"], k=1)
    assert [r.results[0].article_id for r in results] == ["en_football.txt", "en_quake.txt"]


def test_model_of_other_dimension_is_refused(tiny_index: Settings) -> None:
    with pytest.raises(IndexMismatchError, match="dimensional"):
        SearchEngine(open_index(tiny_index.index_dir), HashEmbedder(dimension=32))


def test_asking_for_another_model_is_refused_before_loading_it(tiny_index: Settings) -> None:
    with pytest.raises(IndexMismatchError, match="built with 'test/hash-embedder'"):
        SearchEngine.open(tiny_index.with_overrides(model="some/other-model"))


def test_same_model_with_other_weights_warns(tiny_index: Settings) -> None:
    other = HashEmbedder()
    other.fingerprint = "hash-v2"
    engine = SearchEngine(open_index(tiny_index.index_dir), other)
    assert engine.warnings and "weights differ" in engine.warnings[0]


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError):
        SearchEngine.open(Settings(home=tmp_path, index_dir=tmp_path / "none"))


def test_a_query_weighs_its_terms_once_and_looks_up_row_positions_once(
    engine: SearchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13.5: per hybrid query, term weights are computed once; row positions are looked up by the dense
    fetch and, only for articles shown by their first passage (a headline matched), once more by the hits,
    which otherwise reuse the positions the retrievers found; a filter costs no lookup."""
    calls = {"term_weights": 0, "positions": 0}
    lexical, rows = type(engine.index.lexical), type(engine.index.rows)
    for cls, name in ((lexical, "term_weights"), (rows, "positions")):
        original = getattr(cls, name)

        def counted(self: object, *args: object, _name: str = name, _original: object = original) -> object:
            calls[_name] += 1
            return _original(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(cls, name, counted)
    result = engine.search("earthquake Sulawesi rescue", k=3, mode="hybrid")
    assert result.results[0].article_id == "en_quake.txt" and result.results[0].snippet is not None
    assert calls["term_weights"] == 1 and calls["positions"] <= 2
    calls.update(term_weights=0, positions=0)
    engine.search("earthquake Sulawesi rescue", k=3, mode="lexical", filters=Filter(langs=("en",)))
    assert calls["term_weights"] == 1 and calls["positions"] <= 1
