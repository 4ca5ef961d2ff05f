"""From ranked articles to what a reader sees: grouping by story, the passage and snippet to show, the
story's other versions and republished copies; and one stored article as a page."""

from __future__ import annotations

import numpy as np

from index import HEADLINE_ID_BASE, Article, LoadedIndex, PassageWithArticle, Republished
from index.errors import ArticleNotFoundError
from search.fusion import Candidate
from search.results import ArticleView, Grouping, Hit, PassageView, Snippet, Version
from search.retrieval import Ranking
from search.snippets import ShownPassage, make_snippets


def make_hits(
    index: LoadedIndex,
    ranking: Ranking,
    vector: np.ndarray | None,
    k: int,
    group: Grouping,
    snippets: bool,
    offset: int,
) -> list[Hit]:
    """Candidates ``offset + 1`` to ``offset + k`` (one per story when grouping) as hits with passage,
    snippet, confidence and versions."""
    candidates = ranking.candidates
    confidence = {c.article: p for c, p in zip(candidates, ranking.confidences)}
    store = index.store
    stories = store.stories([c.article for c in candidates])
    chosen = _one_per_story(candidates, stories, group, offset + k)[offset:]
    shown = _passages_to_show(index, chosen)
    found = store.passages([row for row, _ in shown.values()])
    rows = [found[shown[c.article][0]] for c in chosen]
    positions = [shown[c.article][1] for c in chosen]
    made = _snippets(index, ranking.match.weights, vector, rows, positions) if snippets else [None] * len(rows)
    versions = _versions(index, chosen, candidates, stories) if group == "stories" else {}
    copies = store.republished([r.article.id for r in rows])
    hits = []
    for rank, (c, row, snippet) in enumerate(zip(chosen, rows, made), start=offset + 1):
        a, p = row.article, row.passage
        hits.append(
            Hit(
                rank=rank, score=round(c.score, 6), confidence=round(confidence[c.article], 4),
                dense_score=None if c.dense is None else round(c.dense.score, 6),
                lexical_score=None if c.lexical is None else round(c.lexical.score, 6),
                article_id=a.id, title=a.title, lang=a.lang, source=a.source or a.path, url=a.url, date=a.date,
                passage=p.text, passage_id=p.id, passage_start=p.start, passage_end=p.end, snippet=snippet,
                story=stories.get(c.article), versions=versions.get(c.article, []),
                republished=[copy_of(r, a.lang) for r in copies.get(a.id, [])],
            )
        )  # fmt: skip
    return hits


def _one_per_story(candidates: list[Candidate], stories: dict[int, int], group: Grouping, n: int) -> list[Candidate]:
    """The first ``n`` candidates, skipping an article whose story is already in when grouping by stories."""
    chosen: list[Candidate] = []
    seen: set[int] = set()
    for c in candidates:
        story = stories.get(c.article)
        if group == "stories" and story is not None:
            if story in seen:
                continue
            seen.add(story)
        chosen.append(c)
        if len(chosen) == n:
            break
    return chosen


def _passages_to_show(index: LoadedIndex, chosen: list[Candidate]) -> dict[int, tuple[int, int]]:
    """Each article's best body passage (dense first, then lexical) as (vector id, row position); its first
    passage when only its headline matched (the one position looked up here)."""
    shown: dict[int, tuple[int, int]] = {}
    for c in chosen:
        for ranked in (c.dense, c.lexical):
            if ranked is not None and ranked.row < HEADLINE_ID_BASE:
                shown[c.article] = (ranked.row, ranked.position)
                break
    first = index.store.first_passages([c.article for c in chosen if c.article not in shown])
    if first:
        ids = np.array(list(first.values()), dtype=np.int64)
        for (article, row), position in zip(first.items(), index.rows.positions(ids).tolist()):
            shown[article] = (row, position)
    return shown


def _snippets(
    index: LoadedIndex,
    weights: dict[str, float],
    vector: np.ndarray | None,
    rows: list[PassageWithArticle],
    positions: list[int],
) -> list[Snippet | None]:
    passages = [
        ShownPassage(r.passage.text, r.passage.start, r.passage.sentences, index.sentences.of(p))
        for r, p in zip(rows, positions)
    ]
    return list(make_snippets(passages, weights, vector))


def _versions(
    index: LoadedIndex, chosen: list[Candidate], candidates: list[Candidate], stories: dict[int, int]
) -> dict[int, list[Version]]:
    """The other versions of each chosen article's story, candidates first (by rank), then by language."""
    members = index.store.story_versions(sorted({stories[c.article] for c in chosen if c.article in stories}))
    rank = {c.article: i for i, c in enumerate(candidates)}
    score = {c.article: c.score for c in candidates}
    out: dict[int, list[Version]] = {}
    for c in chosen:
        story = stories.get(c.article)
        if story is None:
            continue
        others = [(n, a) for n, a in members.get(story, []) if n != c.article]
        others.sort(key=lambda na: (rank.get(na[0], len(rank)), na[1].lang or "", na[0]))
        out[c.article] = [version_of(a, None if n not in score else round(score[n], 6)) for n, a in others]
    return out


def article_view(index: LoadedIndex, article_id: str) -> ArticleView:
    """One stored article with its passages, story versions and republished copies.

    A copy kept out of the index answers too: its own id and metadata, ``copy_of`` naming the article it
    copies, and that article's text, passages and versions.
    """
    store = index.store
    a = store.article(article_id)
    if a is None:
        copy = store.copy(article_id)
        if copy is None:
            raise ArticleNotFoundError(f"No article {article_id!r} in this index; search for it with /query.")
        original = article_view(index, copy.article_id)
        return original.model_copy(update={
            "article_id": copy.id, "title": copy.title, "source": copy.source or copy.path, "url": copy.url,
            "date": copy.date, "author": None, "path": copy.path, "copy_of": original.article_id,
        })  # fmt: skip
    number = store.article_numbers([article_id])[article_id]
    story = store.stories([number]).get(number)
    members = store.story_versions([story]).get(story, []) if story is not None else []
    return ArticleView(
        article_id=a.id, title=a.title, text=a.text, lang=a.lang, source=a.source or a.path, url=a.url,
        date=a.date, author=a.author, path=a.path, story=story,
        passages=[PassageView(id=p.id, seq=p.seq, start=p.start, end=p.end, text=p.text, lang=p.lang)
                  for p in store.passages_of(article_id)],
        versions=[version_of(v, None) for n, v in members if n != number],
        republished=[copy_of(r, a.lang) for r in store.republished([article_id]).get(article_id, [])],
    )  # fmt: skip


def version_of(a: Article, score: float | None) -> Version:
    """Another version of a story, as a hit lists it."""
    return Version(
        article_id=a.id, title=a.title, lang=a.lang, source=a.source or a.path, url=a.url, date=a.date, score=score
    )


def copy_of(r: Republished, lang: str | None) -> Version:
    """A republished copy of an article, as a hit lists it (in the article's language)."""
    return Version(article_id=r.id, title=r.title, lang=lang, source=r.source or r.path, url=r.url, date=r.date,
                   score=None)  # fmt: skip
