"""Snippets: best sentence(s) of a passage, offsets into the article, the query's words highlighted."""

from __future__ import annotations

import numpy as np

from index.chunking import passage_sentences, split_sentences
from index.embedding import encode_with_sentences
from index.storage.sentences import SentenceVectors, body_sentence_spans
from index.terms import terms
from search.snippets import ShownPassage, make_snippets
from tests.conftest import HashEmbedder

ARTICLE = "Headline\n\nMarkets were calm. The quake in Palu measured 7.5 on Friday. Rescue teams arrived later."


def _passage(vectors: np.ndarray | None = None) -> ShownPassage:
    start = ARTICLE.index("Markets")
    return ShownPassage(ARTICLE[start:], start, passage_sentences(ARTICLE[start:]), vectors)


def test_lexical_snippet_picks_the_sentence_with_the_query_words() -> None:
    [snippet] = make_snippets([_passage()], dict.fromkeys(terms("palu 7.5"), 1.0), None)
    assert snippet.text.startswith("The quake in Palu measured 7.5")
    assert ARTICLE[snippet.start : snippet.end] == snippet.text
    assert [ARTICLE[h.start : h.end] for h in snippet.highlights] == ["Palu", "7.5"]


def test_sentence_vectors_choose_when_no_query_word_is_in_the_passage() -> None:
    embedder = HashEmbedder()
    body = _passage().text
    text = f"Headline\n{body}"
    _, [vectors] = encode_with_sentences(embedder, [text], [body_sentence_spans(text, body)], 8)
    assert len(vectors) == 3
    query = embedder.encode_passages(["Rescue teams arrived later."], 1)[0]  # a query that "means" the last one
    [snippet] = make_snippets([_passage(vectors)], {}, query)
    assert snippet.text.endswith("Rescue teams arrived later.") and snippet.highlights == []
    # stored vectors that do not match the sentences are ignored: the first sentence is shown
    [fallback] = make_snippets([_passage(vectors[:2])], {}, query)
    assert fallback.text.startswith("Markets were calm.")


def test_the_stored_sentences_are_shown_even_where_splitting_again_would_differ() -> None:
    # The build pooled two sentence vectors from these two stored spans; splitting the text now finds three
    # sentences, so matching vectors to a fresh split by count would drop the vectors (or shift them).
    text = "Talks ended. Ministers met at dawn. They signed the treaty."
    stored = ((0, 35), (36, len(text)))
    assert len(split_sentences(text)) == 3
    embedder = HashEmbedder()
    vectors = embedder.encode_passages([text[s:e] for s, e in stored], 1)
    query = embedder.encode_passages(["They signed the treaty."], 1)[0]  # "means" the second stored sentence
    [snippet] = make_snippets([ShownPassage(text, 100, stored, vectors)], {}, query)
    assert (snippet.start, snippet.end) == (136, 100 + len(text)) and snippet.text == "They signed the treaty."
    # the lexical path scores and shows the stored sentences too
    [lexical] = make_snippets([ShownPassage(text, 0, stored)], dict.fromkeys(terms("ministers"), 1.0), None)
    assert lexical.text == "Talks ended. Ministers met at dawn."


def test_sentence_vectors_round_trip(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    blocks = [np.ones((2, 4), np.float32), np.zeros((0, 4), np.float32), np.full((1, 4), 0.5, np.float32)]
    SentenceVectors.from_rows(blocks, 4).save(folder / "offsets.npy", folder / "vectors.npy")
    loaded = SentenceVectors.load(folder / "offsets.npy", folder / "vectors.npy")
    assert [len(loaded.of(i)) for i in range(3)] == [2, 0, 1] and np.allclose(loaded.of(2), 0.5)


def test_no_passages_no_work() -> None:
    assert make_snippets([], {}, np.zeros(4, np.float32)) == []


def test_chinese_matches_are_marked_by_their_characters() -> None:
    text = "据报道，印度尼西亚发生地震。市场平静。"
    [snippet] = make_snippets(
        [ShownPassage(text, 0, passage_sentences(text))], dict.fromkeys(terms("印度尼西亚 地震"), 1.0), None
    )
    assert [text[h.start : h.end] for h in snippet.highlights] == ["印度尼西亚", "地震"]
