"""Chunking for a build: articles cut into passages, each with the text its vector embeds (title context +
passage); an unchanged article keeps the passages the current index holds for it."""

from __future__ import annotations

from dataclasses import replace

from ..chunking import Chunker, passage_sentences
from ..embedding import Embedder
from ..hashing import text_hash
from ..ingest.language import LanguageDetector, mixes_scripts
from ..models import Article, Passage
from ..settings import TITLE_CONTEXT_SHARE, Settings
from ..storage.versions import LoadedIndex
from .report import BuildProgress, ProgressCallback


def chunk_articles(
    articles: list[Article],
    embedder: Embedder,
    settings: Settings,
    notify: ProgressCallback | None = None,
    *,
    previous: LoadedIndex | None = None,
) -> tuple[list[Passage], list[str]]:
    """Cut articles into passages; returns the passages and the texts to embed (title context + passage).

    Passage ids here are positions; a build renumbers them to keep the ids of unchanged passages.
    In an article that mixes scripts (an Arabic report quoting a paragraph of English), each passage's
    language is detected too and kept where it differs from the article's. ``previous``: an index built
    with the same model and chunker settings, whose passages an unchanged article keeps (no re-chunking).
    """
    passages: list[Passage] = []
    texts: list[str] = []
    kept = previous.store.passages_by_content() if previous is not None else {}
    detector: LanguageDetector | None = None  # only for articles that mix scripts
    title_cap = int(settings.passage_tokens * TITLE_CONTEXT_SHARE)
    title_counts = embedder.count_tokens([a.title for a in articles])
    for article, title_tokens in zip(articles, title_counts):
        title = article.title
        if title_tokens > title_cap:  # keep the title's head: it is context, not content
            spans = embedder.token_spans(title)
            title, title_tokens = title[: spans[title_cap - 1][1]], title_cap
        earlier = kept.get(article.id)
        if earlier is not None and earlier[0] == article.content_hash and earlier[1]:
            reused = [_embedded(title, p.text) for p in earlier[1]]
            if all(text_hash(t) == p.embed_hash for t, p in zip(reused, earlier[1])):  # same title context too
                passages.extend(replace(p, id=len(passages) + i) for i, p in enumerate(earlier[1]))
                texts.extend(reused)
                if notify:
                    notify(BuildProgress("chunk", len(passages), None))
                continue
        first = len(passages)
        new, embedded = _cut(article, title, title_tokens, embedder, settings, first)
        passages.extend(new)
        texts.extend(embedded)
        if mixes_scripts(article.text) and len(passages) - first > 1:
            detector = detector or LanguageDetector()
            found = detector.detect_many([p.text for p in passages[first:]])
            for i, lang in enumerate(found, start=first):
                if lang and lang != article.lang:
                    passages[i] = replace(passages[i], lang=lang)
        if notify:
            notify(BuildProgress("chunk", len(passages), None))
    return passages, texts


def _cut(
    article: Article, title: str, title_tokens: int, embedder: Embedder, settings: Settings, first: int
) -> tuple[list[Passage], list[str]]:
    """An article's passages (ids from ``first``) and the texts they embed. Each passage is tokenised (sentence by
    sentence), hashed and split into sentences here, once: the encoder and the snippets use what it carries."""
    # room for the prompt, <s> and </s>, the title and its separator
    context_tokens = title_tokens + 1 if title else 0
    budget = settings.passage_tokens - embedder.prompt_tokens - 2 - context_tokens
    chunker = Chunker(embedder.count_tokens, embedder.token_spans, budget, settings.overlap_sentences)
    passages: list[Passage] = []
    texts: list[str] = []
    for seq, span in enumerate(chunker.chunk(article.text)):
        body = article.text[span.start : span.end]
        texts.append(_embedded(title, body))
        tokens, sentences = context_tokens + span.n_tokens, passage_sentences(body)
        passages.append(
            Passage(first + seq, article.id, seq, span.start, span.end, body, tokens, text_hash(texts[-1]),
                    sentences=sentences)
        )  # fmt: skip
    return passages, texts


def _embedded(title: str, body: str) -> str:
    """The text a passage's vector embeds: its article's title as context, then the passage."""
    return f"{title}\n{body}" if title else body
