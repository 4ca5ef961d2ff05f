"""Retrieval evaluation: queries with relevance judgements in, Recall@1/10, MRR@10 and nDCG@10 out.

Judgements are JSON Lines: ``{"id": "q1", "text": "...", "relevant": ["article-id", ...],
"lang": "en", "exclude": ["article-id"]}``. ``exclude`` lists articles to drop from the ranking
before scoring (e.g. the query's own source article). Recall@k is capped: relevant articles in the
top k divided by min(k, number relevant), so Recall@1 is 1 when the first hit is relevant.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from index import Filter
from index.errors import SemsearchError
from index.settings import DEFAULT_MODE, MAX_K
from search.engine import SearchEngine
from search.results import Mode

EVAL_K = 10


class Judgement(BaseModel):
    """One evaluation query and the articles that answer it."""

    id: str
    text: str
    relevant: list[str]
    lang: str | None = None
    exclude: list[str] = []


class Metrics(BaseModel):
    """Mean metrics over a set of queries."""

    queries: int
    recall_at_1: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float


class EvalReport(BaseModel):
    """Metrics overall, per query language and per language pair, and what could not be used."""

    mode: str
    queries: int
    overall: Metrics
    by_language: dict[str, Metrics]
    by_pair: dict[str, Metrics] = Field(
        description='"en>ar": en queries searched among the Arabic articles only, scored on their Arabic relevant ones'
    )
    unknown_articles: list[str]
    skipped_queries: list[str]


def load_judgements(path: Path) -> list[Judgement]:
    """Read a judgements file; a malformed line is an error naming it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SemsearchError(f"Cannot read the judgements file {path}: {exc}.") from exc
    judgements = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            judgements.append(Judgement.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise SemsearchError(
                f"{path}:{number} is not a judgement ({type(exc).__name__}); expected "
                '{"id": ..., "text": ..., "relevant": [article ids]}.'
            ) from exc
    if not judgements:
        raise SemsearchError(f"{path} holds no judgements.")
    return judgements


def evaluate(
    engine: SearchEngine, judgements: list[Judgement], filters: Filter | None = None, mode: Mode = DEFAULT_MODE
) -> EvalReport:
    """Run every query and score its article ranking (no story grouping); unknown ids are reported, not fatal."""
    known = engine.index.store.article_numbers([a for j in judgements for a in j.relevant + j.exclude])
    unknown = sorted({a for j in judgements for a in j.relevant if a not in known})
    usable = [j for j in judgements if any(a in known for a in j.relevant)]
    skipped = [j.id for j in judgements if j not in usable]
    depth = EVAL_K + max((len(j.exclude) for j in usable), default=0)
    results = (
        engine.search_many([j.text for j in usable], k=min(depth, MAX_K), filters=filters, mode=mode,
                           group="articles", snippets=False)
        if usable else []
    )  # fmt: skip
    scores: dict[str, list[QueryScore]] = {}
    for judgement, result in zip(usable, results):
        excluded = set(judgement.exclude)
        ranking = [h.article_id for h in result.results if h.article_id not in excluded]
        row = _score(ranking[:EVAL_K], {a for a in judgement.relevant if a in known})
        scores.setdefault(judgement.lang or "?", []).append(row)
        scores.setdefault("*", []).append(row)
    pairs = _pair_scores(engine, usable, known, filters, mode)
    overall = _mean(scores.get("*", []))
    by_language = {lang: _mean(rows) for lang, rows in sorted(scores.items()) if lang != "*"}
    by_pair = {pair: _mean(rows) for pair, rows in sorted(pairs.items())}
    return EvalReport(
        mode=mode, queries=len(usable), overall=overall, by_language=by_language, by_pair=by_pair,
        unknown_articles=unknown, skipped_queries=skipped,
    )  # fmt: skip


def _pair_scores(
    engine: SearchEngine, usable: list[Judgement], known: dict[str, int], filters: Filter | None, mode: Mode
) -> dict[str, list[QueryScore]]:
    """Per (query language, article language): each query searched among that language's articles only
    (a language filter), scored on its relevant articles in that language, as in cross-language IR."""
    lang_of = _languages(engine, [a for j in usable for a in j.relevant if a in known])
    by_target: dict[str, list[Judgement]] = {}
    for judgement in usable:
        for target in sorted({lang_of[a] for a in judgement.relevant if a in known}):
            by_target.setdefault(target, []).append(judgement)
    pairs: dict[str, list[QueryScore]] = {}
    for target, judgements in sorted(by_target.items()):
        if filters is not None and filters.langs and target not in filters.langs:
            continue
        only = replace(filters or Filter(), langs=(target,))
        depth = min(MAX_K, EVAL_K + max(len(j.exclude) for j in judgements))
        results = engine.search_many(
            [j.text for j in judgements], k=depth, filters=only, mode=mode, group="articles", snippets=False
        )
        for judgement, result in zip(judgements, results):
            excluded = set(judgement.exclude)
            ranking = [h.article_id for h in result.results if h.article_id not in excluded][:EVAL_K]
            wanted = {a for a in judgement.relevant if a in known and lang_of[a] == target}
            pairs.setdefault(f"{judgement.lang or '?'}>{target}", []).append(_score(ranking, wanted))
    return pairs


def _languages(engine: SearchEngine, article_ids: list[str]) -> dict[str, str]:
    out = {}
    for article_id in set(article_ids):
        article = engine.index.store.article(article_id)
        out[article_id] = (article.lang if article else None) or "?"
    return out


@dataclass(frozen=True)
class QueryScore:
    """One query's metrics (``Metrics`` are their means)."""

    recall_at_1: float
    recall_at_10: float
    mrr_at_10: float
    ndcg_at_10: float


def _score(ranking: list[str], relevant: set[str]) -> QueryScore:
    hits = [article in relevant for article in ranking]
    recall1 = float(bool(hits[:1] and hits[0]))
    recall10 = sum(hits[:EVAL_K]) / min(EVAL_K, len(relevant))
    mrr = next((1.0 / (i + 1) for i, hit in enumerate(hits[:EVAL_K]) if hit), 0.0)
    dcg = sum(1.0 / math.log2(i + 2) for i, hit in enumerate(hits[:EVAL_K]) if hit)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(EVAL_K, len(relevant))))
    return QueryScore(recall1, recall10, mrr, dcg / ideal)


def _mean(rows: list[QueryScore]) -> Metrics:
    n = len(rows)
    means = {f.name: round(sum(getattr(r, f.name) for r in rows) / n, 4) if n else 0.0 for f in fields(QueryScore)}
    return Metrics(queries=n, **means)
