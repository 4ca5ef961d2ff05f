"""Planning a build against the previous version: stable ids, and which vectors are reused or encoded.

Article numbers and passage ids of unchanged content are kept; a vector is reused when the exact text
it embeds (title context + passage, or a headline) was embedded before by the same model weights.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..hashing import text_hash
from ..models import HEADLINE_ID_BASE, Article, Passage, count
from ..settings import Settings
from ..storage.rows import language_method
from ..storage.versions import LoadedIndex
from ..vectors.spec import memory_budget, parse_spec
from .inputs import BuildInput


@dataclass
class Plan:
    """Ids for every article, headline and passage, and which vectors are reused or encoded."""

    numbers: dict[str, int]
    headline_ids: dict[str, int]
    passages: list[Passage]
    ids: np.ndarray  # every vector id, sorted
    articles: np.ndarray  # article number per vector
    langs: np.ndarray  # language per vector
    texts: list[str]  # text embedded per vector
    hashes: list[str]  # text_hash of the text embedded per vector (a passage's embed_hash, computed once)
    reused_from: np.ndarray  # previous vector id per vector, -1 where it must be encoded


def plan_ids(articles: list[Article], passages: list[Passage], texts: list[str], previous: LoadedIndex | None) -> Plan:
    """Ids for every article, headline and passage of this build, and where each vector comes from."""
    prev_articles = previous.store.article_keys() if previous else {}
    prev_passages: dict[tuple[str, str], list[int]] = {}
    by_hash: dict[str, int] = {}  # embed hash -> a previous vector id holding that exact text's vector
    if previous:
        for pid, article_id, embed_hash in previous.store.passage_keys():
            prev_passages.setdefault((article_id, embed_hash), []).append(pid)
            by_hash.setdefault(embed_hash, pid)
        for _, old_title, old_headline in prev_articles.values():
            if old_headline is not None:
                by_hash.setdefault(text_hash(old_title), old_headline)
    next_passage = max((pid for ids in prev_passages.values() for pid in ids), default=-1) + 1

    numbers, headline_ids = _article_ids(articles, prev_articles)

    lang_of = {a.id: a.lang or "?" for a in articles}
    renumbered: list[Passage] = []
    for passage in passages:
        kept = prev_passages.get((passage.article_id, passage.embed_hash))
        if kept:
            pid = kept.pop(0)
        else:
            pid, next_passage = next_passage, next_passage + 1
        renumbered.append(replace(passage, id=pid))
    ids = [p.id for p in renumbered] + [headline_ids[a.id] for a in articles if a.id in headline_ids]
    owners = [numbers[p.article_id] for p in renumbered] + [numbers[a.id] for a in articles if a.id in headline_ids]
    langs = [p.lang or lang_of[p.article_id] for p in renumbered] + [
        lang_of[a.id] for a in articles if a.id in headline_ids
    ]
    all_texts = texts + [a.title for a in articles if a.id in headline_ids]
    hashes = [p.embed_hash for p in renumbered] + [text_hash(a.title) for a in articles if a.id in headline_ids]
    order = np.argsort(np.array(ids, dtype=np.int64), kind="stable")
    reused = np.array([by_hash.get(h, -1) for h in hashes], dtype=np.int64)
    return Plan(
        numbers=numbers,
        headline_ids=headline_ids,
        passages=renumbered,
        ids=np.array(ids, dtype=np.int64)[order],
        articles=np.array(owners, dtype=np.int64)[order],
        langs=np.array(langs)[order],
        texts=[all_texts[i] for i in order],
        hashes=[hashes[i] for i in order],
        reused_from=reused[order],
    )


def _article_ids(
    articles: list[Article], prev_articles: dict[str, tuple[int, str, int | None]]
) -> tuple[dict[str, int], dict[str, int]]:
    """Article number and headline vector id of every article: an article keeps its number, and its headline id
    while its title is unchanged."""
    next_number = max((v[0] for v in prev_articles.values()), default=0) + 1
    next_headline = max((v[2] or 0 for v in prev_articles.values()), default=0)
    next_headline = max(next_headline + 1, HEADLINE_ID_BASE)
    numbers: dict[str, int] = {}
    headline_ids: dict[str, int] = {}
    for article in articles:
        known = prev_articles.get(article.id)
        title: str | None = None
        headline_id: int | None = None
        if known is None:
            number, next_number = next_number, next_number + 1
        else:
            number, title, headline_id = known
        numbers[article.id] = number
        if article.title.strip():
            if headline_id is None or title != article.title:
                headline_id, next_headline = next_headline, next_headline + 1
            headline_ids[article.id] = headline_id
    return numbers, headline_ids


def unchanged(previous: LoadedIndex, plan: Plan, inputs: BuildInput, settings: Settings) -> bool:
    """Whether the new version would hold what ``previous`` holds: the same articles under the same numbers,
    every vector reused under its id, the same copies, index settings, sources and skipped files. (Cheap
    checks first; the article comparison reads the store.)"""
    m, rows = previous.manifest, previous.rows
    spec = parse_spec(settings.index_spec, len(plan.ids), m.model.dimension, memory_budget())
    if (
        str(spec) != m.index_spec
        or m.recall.target != settings.recall_target
        or m.skipped != count(inputs.skipped)
        or m.sources != [str(s.resolve()) for s in inputs.sources]
        or len(plan.ids) != len(rows)
        or not (plan.reused_from >= 0).all()
        or not np.array_equal(plan.ids, rows.ids)
        or not np.array_equal(plan.articles, rows.articles)
        or not np.array_equal(plan.langs, rows.langs)
        or not previous.means.serves(language_method(settings.language_neutral, settings.language_method), rows.langs)
        or len(inputs.articles) != m.articles
    ):
        return False
    numbers = {article_id: key[0] for article_id, key in previous.store.article_keys().items()}
    if numbers != plan.numbers or set(previous.store.all_republished()) != set(inputs.republished):
        return False
    return set(previous.store.all_articles()) == set(inputs.articles)
