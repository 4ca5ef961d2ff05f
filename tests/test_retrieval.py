"""Retrieval quality with the real model on the shipped seeds (slow)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from index import Settings, open_index
from index.embedding import Embedder
from search import SearchEngine
from search.evaluation import evaluate, load_judgements
from tests.conftest import SEED_ARTICLE, SEEDS

ROOT = SEEDS.parent

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
    results = engine.search_many([r["title"] for r in rows], k=10, mode="dense", group="articles")
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
    results = engine.search_many([title for _, title in articles], k=3, group="articles", snippets=False)
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


def test_stories_match_the_demo_corpus_parallel_groups(engine: SearchEngine) -> None:
    """Pairwise precision/recall of the build's stories against manifest.tsv's parallel groups."""
    with (SEEDS / "demo" / "manifest.tsv").open(encoding="utf-8") as fh:
        group_of = {f"demo/{r['file']}": r["parallel_group"] for r in csv.DictReader(fh, delimiter="\t")}
    con = engine.index.store._con()
    rows = con.execute("SELECT id, story FROM articles").fetchall()
    gold = {aid: group_of.get(aid) or aid for aid, _ in rows}
    story = {aid: s if s is not None else aid for aid, s in rows}
    pairs = [(a, b) for i, (a, _) in enumerate(rows) for b, _ in rows[i + 1 :]]
    tp = sum(story[a] == story[b] and gold[a] == gold[b] for a, b in pairs)
    fp = sum(story[a] == story[b] and gold[a] != gold[b] for a, b in pairs)
    fn = sum(story[a] != story[b] and gold[a] == gold[b] for a, b in pairs)
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    print(f"stories: precision {precision:.3f} recall {recall:.3f}")
    assert precision >= 0.95 and recall >= 0.9


def test_grouped_results_list_the_versions_of_a_story(engine: SearchEngine) -> None:
    with (SEEDS / "demo" / "manifest.tsv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["dataset"] == "NTREX-128" and r["lang"] == "en"]
    results = engine.search_many([r["title"] for r in rows], k=3)
    for row, result in zip(rows, results):
        top = result.results[0]
        versions = {top.article_id} | {v.article_id for v in top.versions}
        assert versions == {f"demo/{row['parallel_group']}_{lang}.txt" for lang in (*TRANSLATIONS, "en")}
        assert len({h.story for h in result.results if h.story is not None}) == len(
            [h for h in result.results if h.story is not None]
        )  # one result per story


def test_hybrid_is_never_worse_than_dense_per_language_pair(engine: SearchEngine) -> None:
    """The shipped dev evaluation: per (query language, article language), hybrid >= dense; and hybrid is
    clearly better on same-language keyword queries (names and numbers)."""
    judgements = load_judgements(ROOT / "benchmarks" / "dev_eval" / "seeds.jsonl")
    dense, hybrid = (evaluate(engine, judgements, mode=mode) for mode in ("dense", "hybrid"))
    for pair, metrics in dense.by_pair.items():
        assert hybrid.by_pair[pair].mrr_at_10 >= metrics.mrr_at_10 - 1e-9, pair
        assert hybrid.by_pair[pair].recall_at_10 >= metrics.recall_at_10 - 1e-9, pair
    keywords = [j for j in judgements if j.id.endswith("-keywords")]
    dense_kw, hybrid_kw = (evaluate(engine, keywords, mode=mode) for mode in ("dense", "hybrid"))
    for lang in ("en", "ar", "ru"):
        same = f"{lang}>{lang}"
        print(same, dense_kw.by_pair[same].mrr_at_10, hybrid_kw.by_pair[same].mrr_at_10)
        assert hybrid_kw.by_pair[same].mrr_at_10 >= dense_kw.by_pair[same].mrr_at_10 + 0.1


@pytest.mark.parametrize("query", ["chocolate cake recipe", "Premier League transfer window", "рецепт борща"])
def test_an_off_topic_query_gets_no_good_match(engine: SearchEngine, query: str) -> None:
    """Issue 19.10: a topic the seeds do not cover says so, and its hits say how unsure they are."""
    result = engine.search(query, k=10)
    assert result.note is not None and "No good match" in result.note
    assert result.results and max(h.confidence for h in result.results) < 0.5


def test_an_answerable_query_gets_no_note_and_a_confident_first_hit(engine: SearchEngine) -> None:
    result = engine.search("Russia Iran treaty", k=10)
    assert result.note is None
    assert result.results[0].article_id == SEED_ARTICLE and result.results[0].confidence > 0.7
    assert result.results[0].confidence >= result.results[-1].confidence


def test_names_in_latin_letters_find_the_article_that_writes_them_in_arabic(engine: SearchEngine) -> None:
    """Issue 19.11: the seed article (Arabic) is about exactly this meeting; the names field matches
    Putin/بوتين, Pezeshkian/بيزشكيان and Moscow/موسكو, which dense alone ranks third."""
    assert engine.search("Putin Pezeshkian Moscow", k=5).results[0].article_id == SEED_ARTICLE
    assert engine.search("Putin Pezeshkian Moscow", k=5, mode="lexical").results[0].article_id == SEED_ARTICLE


def test_named_entity_queries_gain_from_the_names_field(engine: SearchEngine) -> None:
    """The names dev set (English names judged on Arabic, Persian, Russian and Chinese versions): hybrid
    beats dense overall and is below it on no language pair."""
    judgements = load_judgements(ROOT / "benchmarks" / "dev_eval" / "names.jsonl")
    dense, hybrid = (evaluate(engine, judgements, mode=mode) for mode in ("dense", "hybrid"))
    assert hybrid.overall.mrr_at_10 >= dense.overall.mrr_at_10 + 0.05
    for pair, metrics in dense.by_pair.items():
        assert hybrid.by_pair[pair].mrr_at_10 >= metrics.mrr_at_10 - 1e-9, pair


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Lavrov said the agreement is not directed against anyone", "لافروف"),
        ("Putin met Kim Jong Un in Pyongyang in June", "كيم جونغ أون"),
    ],
)
def test_cross_language_snippets_pick_the_sentence_that_answers(
    engine: SearchEngine, query: str, expected: str
) -> None:
    """An English query, an Arabic article: the snippet is the Arabic sentence saying what was asked."""
    hits = engine.search(query, k=3, article_ids=[SEED_ARTICLE], group="articles").results
    snippet = hits[0].snippet
    assert snippet is not None and expected in snippet.text
    article = engine.index.store.article(SEED_ARTICLE)
    assert article is not None and article.text[snippet.start : snippet.end] == snippet.text


def test_sentence_vectors_come_from_the_same_pass_as_passage_vectors(real_embedder: Embedder) -> None:
    from index.embedding import encode_with_sentences
    from index.storage.sentences import body_sentence_spans

    bodies = ["Rescuers searched the rubble. Aid arrived by sea on Sunday.", "Москва и Тегеран подписали договор."]
    texts = [f"Quake\n{b}" for b in bodies] + ["Quake"]  # and a headline, which has no sentences
    vectors, sentences = encode_with_sentences(
        real_embedder, texts, [body_sentence_spans(t, b) for t, b in zip(texts, bodies)] + [[]], 8
    )
    plain = real_embedder.encode_passages(texts, 8)
    assert np.allclose((vectors * plain).sum(axis=1), 1.0, atol=1e-5)
    assert [s.shape for s in sentences] == [
        (2, real_embedder.dimension),
        (1, real_embedder.dimension),
        (0, real_embedder.dimension),
    ]
    assert np.allclose(np.linalg.norm(sentences[0], axis=1), 1.0, atol=1e-5)
    # the sentence about aid is closer to an aid query than the sentence about rubble
    query = real_embedder.encode_queries(["aid delivered by ship"])[0]
    assert sentences[0][1] @ query > sentences[0][0] @ query
