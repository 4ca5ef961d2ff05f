"""Snippets: the sentence(s) of a hit's passage that answer the query best, with the query's words marked.

Sentences are scored by the model itself (the query vector against each sentence's vector), so a
snippet is right across languages, where no word of the query occurs. All the shown hits' sentences
go through the model in one call. Without a query vector (lexical mode) sentences are scored by the
query terms they contain. The next sentence joins the best one when it scores almost as well, so a
thought split over two sentences is shown whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index import Embedder
from index.chunker import split_sentences
from index.terms import term_spans
from search.results import Snippet, Span

# A neighbouring sentence joins the snippet when its score is within this of the best one.
JOIN_MARGIN = 0.02
# Sentences longer than this many characters are cut at a word boundary in the snippet text.
MAX_SNIPPET_CHARS = 400


@dataclass(frozen=True)
class ShownPassage:
    """A passage to make a snippet from: its text and where it starts in the article."""

    text: str
    start: int


def make_snippets(
    passages: Sequence[ShownPassage],
    query_terms: set[str],
    query_vector: np.ndarray | None,
    embedder: Embedder | None,
) -> list[Snippet]:
    """One snippet per passage, in order."""
    if not passages:
        return []
    sentences = [_sentences(p.text) for p in passages]
    if query_vector is not None and embedder is not None:
        flat = [p.text[s:e] for p, spans in zip(passages, sentences) for s, e in spans]
        vectors = embedder.encode_passages(flat, len(flat))
        all_scores = vectors @ np.asarray(query_vector, dtype=np.float32)
        bounds = np.cumsum([0] + [len(s) for s in sentences])
        scores = [all_scores[bounds[i] : bounds[i + 1]] for i in range(len(passages))]
    else:
        scores = [
            np.array([_term_score(p.text[s:e], query_terms) for s, e in spans], dtype=np.float32)
            for p, spans in zip(passages, sentences)
        ]
    return [_snippet(p, spans, sc, query_terms) for p, spans, sc in zip(passages, sentences, scores)]


def _sentences(text: str) -> list[tuple[int, int]]:
    spans = split_sentences(text)
    return spans or [(0, len(text))]


def _term_score(sentence: str, query_terms: set[str]) -> float:
    matched = {t for _, _, found in term_spans(sentence) for t in found if t in query_terms}
    return float(len(matched))


def _snippet(passage: ShownPassage, spans: list[tuple[int, int]], scores: np.ndarray, query_terms: set[str]) -> Snippet:
    best = int(np.argmax(scores)) if len(scores) else 0
    start, end = spans[best]
    if best + 1 < len(spans) and scores[best + 1] >= scores[best] - JOIN_MARGIN:
        end = spans[best + 1][1]
    elif best > 0 and scores[best - 1] >= scores[best] - JOIN_MARGIN:
        start = spans[best - 1][0]
    if end - start > MAX_SNIPPET_CHARS:
        cut = passage.text.rfind(" ", start, start + MAX_SNIPPET_CHARS)
        end = cut if cut > start else start + MAX_SNIPPET_CHARS
    text = passage.text[start:end]
    highlights = [
        Span(start=passage.start + start + s, end=passage.start + start + e)
        for s, e, found in term_spans(text)
        if any(t in query_terms for t in found)
    ]
    return Snippet(text=text, start=passage.start + start, end=passage.start + end, highlights=highlights)
