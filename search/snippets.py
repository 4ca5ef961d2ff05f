"""Snippets: the sentence(s) of a hit's passage that answer the query best, with the query's words marked.

Where the passage holds some of the query's words, sentences are scored by those words (weighted by
their rarity, as BM25 does): free, and what a reader expects to see highlighted. Where it holds none
(a cross-language hit), sentences are scored by the model, the query vector against each sentence's
vector, so the snippet is right across languages; those sentences go through the model in one call,
and their vectors are kept in a bounded cache (``SentenceCache``) since popular articles recur. The next
sentence joins the best one when it scores almost as well, so a thought split over two is shown whole.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index import Embedder
from index.chunker import split_sentences
from index.terms import term_spans
from search.results import Snippet, Span

# A neighbouring sentence joins the snippet when its score is within this share of the best one.
JOIN_MARGIN = 0.02
# Sentences longer than this many characters are cut at a word boundary in the snippet text.
MAX_SNIPPET_CHARS = 400
# Sentence vectors kept per engine (about 1.5 KB each).
SENTENCE_CACHE_SIZE = 20_000


@dataclass(frozen=True)
class ShownPassage:
    """A passage to make a snippet from: its id, text and where it starts in the article."""

    id: int
    text: str
    start: int


class SentenceCache:
    """Sentence vectors by (passage id, sentence number), least recently used dropped first; thread-safe."""

    def __init__(self, size: int = SENTENCE_CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(
        self, keys: list[tuple[int, int]], texts: list[str], encode: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        """Vectors for ``texts`` (one per key), encoding only the ones not cached."""
        with self._lock:
            found = {k: self._items[k] for k in keys if k in self._items}
            for k in found:
                self._items.move_to_end(k)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            fresh = encode([texts[i] for i in missing])
            with self._lock:
                for i, vector in zip(missing, fresh):
                    found[keys[i]] = vector
                    self._items[keys[i]] = vector
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return np.stack([found[k] for k in keys])


def make_snippets(
    passages: Sequence[ShownPassage],
    term_weights: dict[str, float],
    query_vector: np.ndarray | None,
    embedder: Embedder | None,
    cache: SentenceCache | None = None,
) -> list[Snippet]:
    """One snippet per passage, in order. ``term_weights``: the query's terms and their weights (IDF)."""
    if not passages:
        return []
    sentences = [_sentences(p.text) for p in passages]
    scores = [
        np.array([_term_score(p.text[s:e], term_weights) for s, e in spans], dtype=np.float32)
        for p, spans in zip(passages, sentences)
    ]
    by_model = [i for i, sc in enumerate(scores) if not sc.any() and len(sentences[i]) > 1]
    if by_model and query_vector is not None and embedder is not None:
        keys = [(passages[i].id, j) for i in by_model for j in range(len(sentences[i]))]
        texts = [passages[i].text[s:e] for i in by_model for s, e in sentences[i]]
        encode = lambda batch: embedder.encode_passages(batch, len(batch))  # noqa: E731
        vectors = (cache or SentenceCache(len(keys))).vectors(keys, texts, encode)
        model_scores = vectors @ np.asarray(query_vector, dtype=np.float32)
        position = 0
        for i in by_model:
            scores[i] = model_scores[position : position + len(sentences[i])]
            position += len(sentences[i])
    terms = set(term_weights)
    return [_snippet(p, spans, sc, terms) for p, spans, sc in zip(passages, sentences, scores)]


def _sentences(text: str) -> list[tuple[int, int]]:
    spans = split_sentences(text)
    return spans or [(0, len(text))]


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
