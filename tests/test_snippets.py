"""Snippets: best sentence(s) of a passage, offsets into the article, the query's words highlighted."""

from __future__ import annotations

import numpy as np

from index.terms import terms
from search.snippets import SentenceCache, ShownPassage, make_snippets
from tests.conftest import HashEmbedder

ARTICLE = "Headline\n\nMarkets were calm. The quake in Palu measured 7.5 on Friday. Rescue teams arrived later."


def _passage() -> ShownPassage:
    start = ARTICLE.index("Markets")
    return ShownPassage(1, ARTICLE[start:], start)


def test_lexical_snippet_picks_the_sentence_with_the_query_words() -> None:
    [snippet] = make_snippets([_passage()], dict.fromkeys(terms("palu 7.5"), 1.0), None, None)
    assert snippet.text.startswith("The quake in Palu measured 7.5")
    assert ARTICLE[snippet.start : snippet.end] == snippet.text
    assert [ARTICLE[h.start : h.end] for h in snippet.highlights] == ["Palu", "7.5"]


def test_embedding_snippet_follows_the_query_vector() -> None:
    embedder = HashEmbedder()
    target = "Rescue teams arrived later."
    query_vector = embedder.encode_passages([target], 1)[0]  # a query that "means" the last sentence
    cache = SentenceCache()
    [snippet] = make_snippets([_passage()], {}, query_vector, embedder, cache)
    assert snippet.text.endswith(target) and ARTICLE[snippet.start : snippet.end] == snippet.text
    assert snippet.highlights == []
    # the sentence vectors are cached: a second call encodes nothing
    embedder.encode_passages = None  # type: ignore[assignment,method-assign]
    assert make_snippets([_passage()], {}, query_vector, embedder, cache) == [snippet]


def test_no_passages_no_work() -> None:
    assert make_snippets([], {}, np.zeros(4, np.float32), HashEmbedder()) == []


def test_chinese_matches_are_marked_by_their_characters() -> None:
    text = "据报道，印度尼西亚发生地震。市场平静。"
    [snippet] = make_snippets([ShownPassage(0, text, 0)], dict.fromkeys(terms("印度尼西亚 地震"), 1.0), None, None)
    assert [text[h.start : h.end] for h in snippet.highlights] == ["印度尼西亚", "地震"]
