"""Snippets: the sentence(s) of a hit's passage that answer the query best, with the query's words marked.

Where the passage holds some of the query's words, sentences are scored by those words (weighted by
their rarity, as BM25 does), which is what a reader expects to see highlighted. Where it holds none
(a cross-language hit), sentences are scored by meaning: the query vector against each sentence's
vector, which the build stored for every passage (``index.storage.sentences``), so choosing costs no
model call. The sentences are the spans the build stored with the passage (``Passage.sentences``), the
very ones its sentence vectors were pooled from: nothing is split again here. The next sentence joins the best one when it scores almost as well, so a thought split over
two sentences is shown whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index import term_spans
from search.results import Snippet, Span

# A neighbouring sentence joins the snippet when its score is within this share of the best one.
JOIN_MARGIN = 0.02
# Sentences longer than this many characters are cut at a word boundary in the snippet text.
MAX_SNIPPET_CHARS = 400


@dataclass(frozen=True)
class ShownPassage:
    """A passage to make a snippet from: its text, where it starts in the article, its sentences (spans of
    ``text``, as stored with the passage) and their vectors."""

    text: str
    start: int
    sentences: Sequence[tuple[int, int]]
    sentence_vectors: np.ndarray | None = None


def make_snippets(
    passages: Sequence[ShownPassage], term_weights: dict[str, float], query_vector: np.ndarray | None
) -> list[Snippet]:
    """One snippet per passage, in order. ``term_weights``: the query's terms and their weights (IDF)."""
    out = []
    terms = set(term_weights)
    for passage in passages:
        spans = list(passage.sentences) or [(0, len(passage.text))]
        scores = np.array([_term_score(passage.text[s:e], term_weights) for s, e in spans], dtype=np.float32)
        vectors = passage.sentence_vectors
        if not scores.any() and query_vector is not None and vectors is not None and len(vectors) == len(spans):
            scores = vectors @ np.asarray(query_vector, dtype=np.float32)
        out.append(_snippet(passage, spans, scores, terms))
    return out


def _term_score(sentence: str, term_weights: dict[str, float]) -> float:
    matched = {t for _, _, found in term_spans(sentence) for t in found if t in term_weights}
    return float(sum(term_weights[t] for t in matched))


def _snippet(passage: ShownPassage, spans: list[tuple[int, int]], scores: np.ndarray, query_terms: set[str]) -> Snippet:
    best = int(np.argmax(scores)) if len(scores) else 0
    start, end = spans[best]
    margin = JOIN_MARGIN * abs(float(scores[best])) if len(scores) else 0.0
    if best + 1 < len(spans) and scores[best + 1] >= scores[best] - margin:
        end = spans[best + 1][1]
    elif best > 0 and scores[best - 1] >= scores[best] - margin:
        start = spans[best - 1][0]
    if end - start > MAX_SNIPPET_CHARS:
        cut = passage.text.rfind(" ", start, start + MAX_SNIPPET_CHARS)
        end = cut if cut > start else start + MAX_SNIPPET_CHARS
    text = passage.text[start:end]
    matched = [(s, e) for s, e, found in term_spans(text) if any(t in query_terms for t in found)]
    highlights = [Span(start=passage.start + start + s, end=passage.start + start + e) for s, e in _merged(matched)]
    return Snippet(text=text, start=passage.start + start, end=passage.start + end, highlights=highlights)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans (adjacent bigrams of one Chinese word) as one."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
