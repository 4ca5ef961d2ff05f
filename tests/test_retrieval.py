"""Retrieval quality with the real model on the shipped seeds (slow)."""

from __future__ import annotations

import csv

import pytest

from index import Settings, open_index
from index.embedding import Embedder
from search import SearchEngine
from tests.conftest import SEED_ARTICLE, SEEDS

pytestmark = pytest.mark.slow
TRANSLATIONS = ("ar", "fa", "ru", "fr", "zh")


@pytest.fixture(scope="module")
def engine(seeds_index: Settings, real_embedder: Embedder) -> SearchEngine:
    return SearchEngine(open_index(seeds_index.index_dir), real_embedder)


@pytest.mark.parametrize(
    "query", ["Russia Iran treaty", "Russia and Iran sign a partnership treaty", "Россия Иран договор о партнёрстве"]
)
def test_seed_article_comes_first(engine: SearchEngine, query: str) -> None:
    assert engine.search(query, k=5).results[0].article_id == SEED_ARTICLE


def test_english_headlines_find_their_translations(engine: SearchEngine) -> None:
    """Each NTREX article's English title: its ar/fa/ru/fr/zh versions should be in the top 10."""
    with (SEEDS / "demo" / "manifest.tsv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["dataset"] == "NTREX-128" and r["lang"] == "en"]
    assert len(rows) == 15
    results = engine.search_many([r["title"] for r in rows], k=10)
    found = 0
    per_lang = dict.fromkeys(TRANSLATIONS, 0)
    for row, result in zip(rows, results):
        ids = {h.article_id for h in result.results}
        for lang in TRANSLATIONS:
            if f"demo/{row['parallel_group']}_{lang}.txt" in ids:
                found += 1
                per_lang[lang] += 1
    print(f"translations in top 10: {found}/75 {per_lang}")
    # Measured 71/75; the misses are versions of another outlet's story on the same event outranking them.
    assert found >= 68
    assert min(per_lang.values()) >= 11


def test_every_seed_title_finds_its_article(engine: SearchEngine, seeds_index: Settings) -> None:
    store = open_index(seeds_index.index_dir).store
    con = store._con()
    articles = con.execute("SELECT id, title FROM articles WHERE title != ''").fetchall()
    results = engine.search_many([title for _, title in articles], k=3)
    top1 = sum(r.results[0].article_id == aid for (aid, _), r in zip(articles, results))
    top3 = sum(aid in {h.article_id for h in r.results} for (aid, _), r in zip(articles, results))
    print(f"title -> own article: top-1 {top1}/{len(articles)}, top-3 {top3}/{len(articles)}")
    misses = [
        (aid, [h.article_id for h in r.results])
        for (aid, _), r in zip(articles, results)
        if aid not in {h.article_id for h in r.results}
    ]
    print(misses)
    assert top3 == len(articles)
    assert top1 >= 0.95 * len(articles)
