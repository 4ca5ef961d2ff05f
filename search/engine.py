"""Answer queries against a built index: embed, search, keep each article's best passage."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from index import Embedder, LoadedIndex, Settings, load_embedder, open_index
from index.errors import IndexMismatchError, InvalidQueryError
from index.index_dir import current_version
from index.manifest import Manifest
from index.settings import DEFAULT_K, MAX_BATCH_QUERIES, MAX_K, MAX_QUERY_CHARS, PASSAGES_PER_ARTICLE_FETCH
from index.vectors import HEADLINE_ID_BASE
from search.filters import QueryFilters
from search.results import Hit, IndexInfo, QueryResult


class SearchEngine:
    """A loaded index and the model that built it; thread-safe for concurrent queries."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        _check_model(index.manifest, embedder)
        self.index = index
        self.embedder = embedder
        self.warnings: list[str] = []
        if embedder.fingerprint != index.manifest.model.fingerprint:
            self.warnings.append(
                f"The model's weights differ from the ones that built this index ({embedder.source}); "
                "results may be slightly off. Rebuild with `semsearch build` to match."
            )

    @classmethod
    def open(cls, settings: Settings) -> SearchEngine:
        """Open the index at ``settings.index_dir`` with its own model (or the one asked for, if the same)."""
        index = open_index(settings.index_dir)
        recorded = index.manifest.model.name
        if settings.model and _model_key(settings.model) != _model_key(recorded):
            raise IndexMismatchError(
                f"The index at {settings.index_dir} was built with {recorded!r}, not {settings.model!r}. "
                f"Query without --model, or rebuild with `semsearch build --model {settings.model} ...`."
            )
        return cls(index, load_embedder(settings.model or recorded, settings.models_dir))

    def search(
        self,
        query: str,
        k: int = DEFAULT_K,
        article_ids: Sequence[str] | None = None,
        filters: QueryFilters | None = None,
    ) -> QueryResult:
        """The ``k`` best articles for ``query``, optionally only among ``article_ids`` and ``filters``."""
        return self.search_many([query], k, article_ids, filters)[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int = DEFAULT_K,
        article_ids: Sequence[str] | None = None,
        filters: QueryFilters | None = None,
    ) -> list[QueryResult]:
        """Answer several queries with one model call; results in the same order.

        With ``article_ids`` or ``filters``, the results are the true top-k among the matching articles;
        when nothing matches, the results are empty and ``note`` says why.
        """
        started = time.perf_counter()
        cleaned = [validate_query(q) for q in queries]
        validate_k(k)
        if len(cleaned) > MAX_BATCH_QUERIES:
            raise InvalidQueryError(f"{len(cleaned)} queries in one batch; send at most {MAX_BATCH_QUERIES}.")
        allowed = None if article_ids is None else self._allowed_vectors(article_ids)
        note = None
        if filters is not None and filters.active:
            allowed = self._filtered(filters, allowed)
            if len(allowed) == 0:
                note = f"No article in this index matches the filters ({filters.describe()})."
        vectors = self.embedder.encode_queries(cleaned)
        per_query_ms = (time.perf_counter() - started) * 1000 / max(1, len(cleaned))
        results = []
        for query, vector in zip(cleaned, vectors):
            t0 = time.perf_counter()
            hits = self._top_articles(vector, k, allowed)
            took = per_query_ms + (time.perf_counter() - t0) * 1000
            results.append(
                QueryResult(
                    query=query, k=k, results=hits, took_ms=round(took, 2), index_version=self.index.version, note=note
                )
            )
        return results

    def _filtered(self, filters: QueryFilters, allowed: np.ndarray | None) -> np.ndarray:
        """Vector ids of the articles passing ``filters`` (within ``allowed`` when given)."""
        numbers = self.index.store.article_numbers_where(
            filters.lang,
            filters.since.isoformat() if filters.since else None,
            filters.until.isoformat() if filters.until else None,
            filters.source,
        )
        ids = self._vectors_of(numbers)
        return ids if allowed is None else np.intersect1d(ids, allowed)

    def _vectors_of(self, article_numbers: Sequence[int]) -> np.ndarray:
        """Every vector id (passages and headline) of the given articles."""
        rows = self.index.rows
        return rows.ids[np.isin(rows.articles, np.asarray(list(article_numbers), dtype=np.int64))]

    def languages(self) -> list[str]:
        """Language codes present in the index."""
        return list(self.index.manifest.languages)

    def _allowed_vectors(self, article_ids: Sequence[str]) -> np.ndarray:
        """Vector ids of the given articles; unknown ids are an error that names them."""
        numbers = self.index.store.article_numbers(article_ids)
        unknown = sorted(set(article_ids) - set(numbers))
        if unknown:
            shown = ", ".join(map(repr, unknown[:5])) + (" …" if len(unknown) > 5 else "")
            raise InvalidQueryError(
                f"Unknown article id(s) in the filter: {shown}; see `semsearch info` for the index."
            )
        return self._vectors_of(list(numbers.values()))

    def _top_articles(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        rows = self.index.rows
        total = len(rows) if allowed is None else len(allowed)
        fetch = min(total, k * PASSAGES_PER_ARTICLE_FETCH)
        if fetch == 0:
            return []
        while True:
            scores, ids = self.index.vectors.search(vector[None, :], fetch, allowed)
            keep = ids[0] >= 0
            scores_row, ids_row = scores[0][keep], ids[0][keep]
            numbers = rows.articles[rows.positions(ids_row)]
            # the first occurrence of an article in score order is its score (headline or passage)
            _, first = np.unique(numbers, return_index=True)
            # enough distinct articles, or nothing more to fetch: the top-k is exact
            if len(first) >= k or fetch >= total:
                break
            fetch = min(total, fetch * 4)
        chosen = sorted(first.tolist())[:k]
        is_headline = ids_row >= HEADLINE_ID_BASE
        shown = self._passages_to_show([int(numbers[i]) for i in chosen], numbers, ids_row, is_headline)
        found = self.index.store.passages(list(shown.values()))
        hits = []
        for rank, i in enumerate(chosen, start=1):
            row = found[shown[int(numbers[i])]]
            a, p = row.article, row.passage
            hits.append(
                Hit(
                    rank=rank, score=round(float(scores_row[i]), 6), article_id=a.id, title=a.title, lang=a.lang,
                    source=a.source or a.path, url=a.url, date=a.date, passage=p.text, passage_id=p.id,
                    passage_start=p.start, passage_end=p.end,
                )
            )  # fmt: skip
        return hits

    def _passages_to_show(
        self, articles: list[int], numbers: np.ndarray, ids: np.ndarray, is_headline: np.ndarray
    ) -> dict[int, int]:
        """Each article's best fetched body passage; its first passage when only its headline matched."""
        shown: dict[int, int] = {}
        for number, pid, headline in zip(numbers.tolist(), ids.tolist(), is_headline.tolist()):
            if not headline and number not in shown:
                shown[number] = pid
        missing = [n for n in articles if n not in shown]
        shown.update(self.index.store.first_passages(missing))
        return shown

    def info(self) -> IndexInfo:
        """The manifest of the loaded index."""
        return IndexInfo(
            index_dir=str(self.index.folder.parent), version=self.index.version, manifest=asdict(self.index.manifest)
        )


def describe_index(index_dir: Path) -> IndexInfo:
    """The manifest of the index at ``index_dir``, without loading the model or the vectors."""
    folder = current_version(index_dir)
    return IndexInfo(index_dir=str(index_dir), version=folder.name, manifest=asdict(Manifest.read(folder)))


def validate_query(query: str) -> str:
    """The query stripped, or an error saying what is wrong with it."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidQueryError("The query is empty; type some words to search for.")
    query = query.strip()
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQueryError(f"The query has {len(query)} characters; shorten it to at most {MAX_QUERY_CHARS}.")
    return query


def validate_k(k: int) -> None:
    """Refuse a ``k`` outside 1..MAX_K."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidQueryError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}.")


def _check_model(manifest: Manifest, embedder: Embedder) -> None:
    if embedder.dimension != manifest.model.dimension:
        raise IndexMismatchError(
            f"The model {embedder.name!r} makes {embedder.dimension}-dimensional vectors but the index holds "
            f"{manifest.model.dimension}-dimensional ones from {manifest.model.name!r}; query with that model "
            "or rebuild the index."
        )


def _model_key(name: str) -> str:
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name
