"""Answer queries against a built index: embed, search, keep each article's best passage."""

from __future__ import annotations

import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from index import Article, Embedder, LoadedIndex, Republished, Settings, load_embedder, open_index
from index.embedding.backends import AUTO, ONNX_FP32, TORCH_FP16_CUDA, TORCH_FP32, check_interchangeable
from index.errors import ArticleNotFoundError, IndexMismatchError, InvalidQueryError
from index.ingest.cleaning import normalise
from index.models import HEADLINE_ID_BASE
from index.settings import (
    DEFAULT_GROUP,
    DEFAULT_K,
    DEFAULT_MODE,
    FUSION_DEPTH,
    LEXICAL_MIN_COVERAGE,
    MAX_BATCH_QUERIES,
    MAX_DEPTH,
    MAX_K,
    MAX_QUERY_CHARS,
    NO_GOOD_MATCH_CONFIDENCE,
    PASSAGES_PER_ARTICLE_FETCH,
    STORY_FANOUT,
)
from index.storage.lexical import LexicalMatch
from index.storage.manifest import Manifest
from index.storage.store import PassageWithArticle
from index.storage.versions import current_version
from index.vectors import ScalarFilter, VectorBackend
from index.vectors.stores import open_vector_store
from search.confidence import ConfidenceModel, Features, ranked_features
from search.filters import QueryFilters
from search.fusion import Candidate, Ranked, best_per_article, reciprocal_rank_fusion, single
from search.query_cache import QueryVectorCache
from search.results import (
    GROUPINGS,
    MODES,
    ArticleView,
    Grouping,
    Hit,
    IndexInfo,
    Mode,
    PassageView,
    QueryResult,
    Snippet,
    Version,
)
from search.snippets import ShownPassage, make_snippets


class SearchEngine:
    """A loaded index and the model that built it; thread-safe for concurrent queries.

    ``store``: where the dense search runs — None for the index's own FAISS file, or a ``milvus://`` store the
    index was exported to (``semsearch export``); the lexical index and the SQLite store are always local."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder | None = None,
        *,
        store: str | None = None,
        vectors: VectorBackend | None = None,
        loader: Callable[[], Embedder] | None = None,
    ) -> None:
        """``embedder``: the query encoder; or ``loader``, called at the first query that needs vectors
        (a lexical query never loads the model). ``vectors``: the dense backend, if already opened."""
        if embedder is None and loader is None:
            raise ValueError("SearchEngine needs an embedder or a loader for one")
        self.index = index
        self.store = store
        self.vectors = vectors if vectors is not None else open_vector_store(store, index)
        self.confidence = ConfidenceModel.shipped()
        self.warnings: list[str] = []
        self._loader = loader
        self._loading = threading.Lock()
        self._embedder: Embedder | None = None
        if embedder is not None:
            # an LRU of query vectors: a query repeated (another page, mode or language filter) is encoded once
            self.embedder = embedder if isinstance(embedder, QueryVectorCache) else QueryVectorCache(embedder)

    @property
    def embedder(self) -> Embedder:
        """The query encoder, loaded (and checked against the index) on first use."""
        if self._embedder is None:
            with self._loading:
                if self._embedder is None:
                    assert self._loader is not None
                    loaded = self._loader()
                    self.embedder = QueryVectorCache(loaded)
        assert self._embedder is not None
        return self._embedder

    @embedder.setter
    def embedder(self, embedder: Embedder) -> None:
        _check_model(self.index.manifest, embedder)
        if embedder.fingerprint != self.index.manifest.model.fingerprint:
            warning = (
                f"The model's weights differ from the ones that built this index ({embedder.source}); "
                "results may be slightly off. Rebuild with `semsearch build` to match."
            )
            if warning not in self.warnings:
                self.warnings.append(warning)
        for notice in getattr(embedder, "notices", ()):  # e.g. the ONNX encoder fell back to torch
            if notice not in self.warnings:
                self.warnings.append(notice)
        self._embedder = embedder

    @property
    def model_loaded(self) -> bool:
        """Whether the query encoder is loaded (a lexical query never loads it)."""
        return self._embedder is not None

    @classmethod
    def open(cls, settings: Settings, *, own_encoder: bool = False) -> SearchEngine:
        """Open the index at ``settings.index_dir``; its own model (or the one asked for, if the same) loads
        at the first query that needs it. ``own_encoder``: by default the index's own encoder (for a server
        that writes passages into the index), not the faster query encoder of a torch-fp32 index."""
        index = open_index(settings.index_dir, mmap=True if settings.store else None)  # Milvus holds the vectors
        recorded = index.manifest.model.name
        if settings.model and _model_key(settings.model) != _model_key(recorded):
            raise IndexMismatchError(
                f"The index at {settings.index_dir} was built with {recorded!r}, not {settings.model!r}. "
                f"Query without --model, or rebuild with `semsearch build --model {settings.model} ...`."
            )
        vectors = open_vector_store(settings.store, index)  # a stale store is refused before the model loads
        encoder = settings.encoder or _query_encoder(index.manifest, own=own_encoder)

        def loader() -> Embedder:
            return load_embedder(settings.model or recorded, settings.models_dir, encoder, use_gpu=settings.use_gpu)

        return cls(index, store=settings.store, vectors=vectors, loader=loader)

    def search(
        self,
        query: str,
        k: int = DEFAULT_K,
        article_ids: Sequence[str] | None = None,
        filters: QueryFilters | None = None,
        *,
        mode: Mode = DEFAULT_MODE,
        group: Grouping = DEFAULT_GROUP,
        snippets: bool = True,
        offset: int = 0,
    ) -> QueryResult:
        """The ``k`` best articles (or stories) for ``query`` after the first ``offset``, optionally only
        among ``article_ids`` and ``filters``."""
        return self.search_many(
            [query], k, article_ids, filters, mode=mode, group=group, snippets=snippets, offset=offset
        )[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int = DEFAULT_K,
        article_ids: Sequence[str] | None = None,
        filters: QueryFilters | None = None,
        *,
        mode: Mode = DEFAULT_MODE,
        group: Grouping = DEFAULT_GROUP,
        snippets: bool = True,
        offset: int = 0,
    ) -> list[QueryResult]:
        """Answer several queries with one model call; results in the same order.

        ``mode``: dense (the model), lexical (BM25) or hybrid (both, fused by reciprocal rank).
        ``group="stories"`` returns one result per story, listing its other versions.
        ``offset`` skips that many results first (paging: ranks go on from offset + 1).
        With ``article_ids`` or ``filters``, the results are the true top-k among the matching articles;
        when nothing matches, the results are empty and ``note`` says why.
        """
        started = time.perf_counter()
        cleaned = [validate_query(q) for q in queries]
        validate_k(k)
        validate_offset(offset, k)
        validate_mode(mode, group)
        if len(cleaned) > MAX_BATCH_QUERIES:
            raise InvalidQueryError(f"{len(cleaned)} queries in one batch; send at most {MAX_BATCH_QUERIES}.")
        allowed = None if article_ids is None else self._allowed_vectors(article_ids)
        note = None
        if filters is not None and filters.active:
            allowed = self._filtered(filters, allowed)
            if len(allowed) == 0:
                note = f"No article in this index matches the filters ({filters.describe()})."
        if note is not None:  # nothing can match: answer before encoding anything
            took = round((time.perf_counter() - started) * 1000, 2)
            return [
                QueryResult(query=q, k=k, offset=offset, mode=mode, group=group, results=[], took_ms=took,
                            index_version=self.index.version, note=note)
                for q in cleaned
            ]  # fmt: skip
        where = None if allowed is None else _scalar_filter(filters, article_ids)
        vectors = self.embedder.encode_queries(cleaned) if mode != "lexical" else [None] * len(cleaned)
        per_query_ms = (time.perf_counter() - started) * 1000 / max(1, len(cleaned))
        depth = max(FUSION_DEPTH, (offset + k) * (STORY_FANOUT if group == "stories" else 1))
        allowed_rows = None  # the same allowed set as a mask over rows, for the lexical side
        if allowed is not None and mode != "dense":
            allowed_rows = np.zeros(len(self.index.rows), dtype=bool)
            allowed_rows[self.index.rows.positions(allowed)] = True
        results = []
        for query, vector in zip(cleaned, vectors):
            t0 = time.perf_counter()
            ranking = self._ranking(query, vector, mode, depth, allowed, allowed_rows, where)
            hits = self._hits(ranking, vector, k, group, snippets, offset)
            took = per_query_ms + (time.perf_counter() - t0) * 1000
            results.append(
                QueryResult(
                    query=query, k=k, offset=offset, mode=mode, group=group, results=hits, took_ms=round(took, 2),
                    index_version=self.index.version, note=note or _no_good_match(ranking, offset + k),
                )
            )  # fmt: skip
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

    def vector_index(self) -> tuple[str, str]:
        """Where dense search runs ("faiss" or "milvus") and the spec of the vector index it searches there."""
        spec = str(self.vectors.spec)
        if self.store is None:
            return "faiss", spec
        from index.vectors.milvus_store import milvus_index_type

        return "milvus", f"{spec} (Milvus {milvus_index_type(self.vectors.spec)[0]})"

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

    def _ranking(
        self,
        query: str,
        vector: np.ndarray | None,
        mode: Mode,
        depth: int,
        allowed: np.ndarray | None,
        allowed_rows: np.ndarray | None,
        where: ScalarFilter | None = None,
    ) -> _Ranking:
        """Articles ranked by the mode (at most ``depth`` from each retriever), each with its confidence."""
        match = self.index.lexical.match(query)
        dense = self._dense(vector, depth, allowed, where) if vector is not None else []
        if mode == "dense":
            candidates = single(dense, dense=True)
        else:
            lexical = self._lexical(match, depth, allowed_rows)
            candidates = single(lexical, dense=False) if mode == "lexical" else reciprocal_rank_fusion(dense, lexical)
        features = self._features(candidates, dense, match)
        confidences = [self.confidence.confidence(f, mode) for f in features]
        return _Ranking(query, candidates, features, confidences, match)

    def ranking_features(
        self, query: str, mode: Mode = DEFAULT_MODE, depth: int = FUSION_DEPTH
    ) -> list[tuple[str, Features]]:
        """The articles of ``query``'s ranking, best first, with the features their confidence comes from
        (what ``benchmarks/fit_confidence.py`` fits on)."""
        validate_mode(mode, DEFAULT_GROUP)
        query = validate_query(query)
        vector = self.embedder.encode_queries([query])[0] if mode != "lexical" else None
        ranking = self._ranking(query, vector, mode, depth, None, None)
        ids = {number: article_id for article_id, (number, *_) in self.index.store.article_keys().items()}
        return [(ids[c.article], f) for c, f in zip(ranking.candidates, ranking.features)]

    def _features(self, candidates: list[Candidate], dense: list[Ranked], match: LexicalMatch) -> list[Features]:
        """Each candidate's confidence features: its best cosine, and the best coverage among its rows."""
        held = match.coverage
        rows = np.flatnonzero(held > 0)
        order = rows[np.argsort(-held[rows], kind="stable")]
        numbers, first = np.unique(self.index.rows.articles[order], return_index=True)
        best = dict(zip(numbers.tolist(), held[order][first].tolist()))
        return ranked_features(
            [None if c.dense is None else c.dense.score for c in candidates],
            [best.get(c.article, 0.0) for c in candidates],
            [r.score for r in dense],
            FUSION_DEPTH,
        )

    def _dense(
        self, vector: np.ndarray, depth: int, allowed: np.ndarray | None, where: ScalarFilter | None = None
    ) -> list[Ranked]:
        """The ``depth`` best articles by their best vector (exact top articles: the search widens until
        enough distinct articles are found). ``allowed`` (vector ids) and ``where`` (the same set by article
        fields) limit it: each vector backend uses the one it can evaluate."""
        rows = self.index.rows
        total = len(rows) if allowed is None else len(allowed)
        fetch = min(total, depth * PASSAGES_PER_ARTICLE_FETCH)
        if fetch == 0:
            return []
        while True:
            scores, ids = self.vectors.search(vector[None, :], fetch, allowed, where)
            keep = ids[0] >= 0
            scores_row, ids_row = scores[0][keep], ids[0][keep]
            numbers = rows.articles[rows.positions(ids_row)]
            if len(np.unique(numbers)) >= depth or fetch >= total:
                return best_per_article(scores_row, ids_row, numbers, depth)
            fetch = min(total, fetch * 4)

    def _lexical(self, match: LexicalMatch, depth: int, mask: np.ndarray | None) -> list[Ranked]:
        """The ``depth`` best articles by BM25 of their best row (rows in ``mask`` only, when given)."""
        rows = self.index.rows
        fetch = depth * PASSAGES_PER_ARTICLE_FETCH
        while True:
            scores, positions = self.index.lexical.search(match, fetch, mask, LEXICAL_MIN_COVERAGE)
            numbers = rows.articles[positions]
            if len(np.unique(numbers)) >= depth or len(positions) < fetch:
                return best_per_article(scores, rows.ids[positions], numbers, depth)
            fetch *= 4

    def _hits(
        self,
        ranking: _Ranking,
        vector: np.ndarray | None,
        k: int,
        group: Grouping,
        snippets: bool,
        offset: int = 0,
    ) -> list[Hit]:
        """Candidates ``offset + 1`` to ``offset + k`` (one per story when grouping) as hits with passage,
        snippet, confidence and versions."""
        candidates = ranking.candidates
        confidence = {c.article: p for c, p in zip(candidates, ranking.confidences)}
        store = self.index.store
        stories = store.stories([c.article for c in candidates])
        chosen: list[Candidate] = []
        seen: set[int] = set()
        for c in candidates:
            story = stories.get(c.article)
            if group == "stories" and story is not None:
                if story in seen:
                    continue
                seen.add(story)
            chosen.append(c)
            if len(chosen) == offset + k:
                break
        chosen = chosen[offset:]
        shown = self._passages_to_show(chosen)
        found = store.passages(list(shown.values()))
        rows = [found[shown[c.article]] for c in chosen]
        made = self._snippets(ranking.match.weights, vector, rows) if snippets else [None] * len(rows)
        versions = self._versions(chosen, candidates, stories) if group == "stories" else {}
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
                    republished=[_copy(r, a.lang) for r in copies.get(a.id, [])],
                )
            )  # fmt: skip
        return hits

    def _passages_to_show(self, chosen: list[Candidate]) -> dict[int, int]:
        """Each article's best body passage (dense first, then lexical); its first passage when only its
        headline matched."""
        shown: dict[int, int] = {}
        for c in chosen:
            for ranked in (c.dense, c.lexical):
                if ranked is not None and ranked.row < HEADLINE_ID_BASE:
                    shown[c.article] = ranked.row
                    break
        missing = [c.article for c in chosen if c.article not in shown]
        shown.update(self.index.store.first_passages(missing))
        return shown

    def _snippets(
        self, weights: dict[str, float], vector: np.ndarray | None, rows: list[PassageWithArticle]
    ) -> list[Snippet | None]:
        positions = self.index.rows.positions(np.array([r.passage.id for r in rows], dtype=np.int64))
        passages = [
            ShownPassage(r.passage.text, r.passage.start, self.index.sentences.of(int(p)))
            for r, p in zip(rows, positions.tolist())
        ]
        return list(make_snippets(passages, weights, vector))

    def _versions(
        self, chosen: list[Candidate], candidates: list[Candidate], stories: dict[int, int]
    ) -> dict[int, list[Version]]:
        """The other versions of each chosen article's story, candidates first (by rank), then by language."""
        members = self.index.store.story_versions(sorted({stories[c.article] for c in chosen if c.article in stories}))
        rank = {c.article: i for i, c in enumerate(candidates)}
        score = {c.article: c.score for c in candidates}
        out: dict[int, list[Version]] = {}
        for c in chosen:
            story = stories.get(c.article)
            if story is None:
                continue
            others = [(n, a) for n, a in members.get(story, []) if n != c.article]
            others.sort(key=lambda na: (rank.get(na[0], len(rank)), na[1].lang or "", na[0]))
            out[c.article] = [_version(a, None if n not in score else round(score[n], 6)) for n, a in others]
        return out

    def article(self, article_id: str) -> ArticleView:
        """One stored article with its passages, story versions and republished copies.

        A copy kept out of the index answers too: its own id and metadata, ``copy_of`` naming the article it
        copies, and that article's text, passages and versions.
        """
        store = self.index.store
        a = store.article(article_id)
        if a is None:
            copy = store.copy(article_id)
            if copy is None:
                raise ArticleNotFoundError(f"No article {article_id!r} in this index; search for it with /query.")
            original = self.article(copy.article_id)
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
            versions=[_version(v, None) for n, v in members if n != number],
            republished=[_copy(r, a.lang) for r in store.republished([article_id]).get(article_id, [])],
        )  # fmt: skip

    def info(self) -> IndexInfo:
        """The manifest of the loaded index."""
        return IndexInfo(
            index_dir=str(self.index.folder.parent), version=self.index.version, manifest=asdict(self.index.manifest)
        )


@dataclass(frozen=True)
class _Ranking:
    """One query's candidates in the mode's order, their confidence features and confidences, and its
    lexical match (term weights for the snippets)."""

    query: str
    candidates: list[Candidate]
    features: list[Features]
    confidences: list[float]
    match: LexicalMatch


def _no_good_match(ranking: _Ranking, depth: int) -> str | None:
    """The note for a query whose first ``depth`` articles all fall under NO_GOOD_MATCH_CONFIDENCE."""
    best = max(ranking.confidences[:depth], default=None)
    if best is None or best >= NO_GOOD_MATCH_CONFIDENCE:
        return None
    return (
        f"No good match for {ranking.query!r}: no result is likely to be relevant (best confidence {best:.2f}); "
        "the index may not cover this topic, or try other words."
    )


def describe_index(index_dir: Path) -> IndexInfo:
    """The manifest of the index at ``index_dir``, without loading the model or the vectors."""
    folder = current_version(index_dir)
    return IndexInfo(index_dir=str(index_dir), version=folder.name, manifest=asdict(Manifest.read(folder)))


def _scalar_filter(filters: QueryFilters | None, article_ids: Sequence[str] | None) -> ScalarFilter:
    """The query's filters and article ids as a filter on article fields (for stores that keep them)."""
    f = filters or QueryFilters()
    return ScalarFilter(
        langs=tuple(f.lang or ()), since=f.since.isoformat() if f.since else None,
        until=f.until.isoformat() if f.until else None, source=f.source,
        article_ids=None if article_ids is None else tuple(article_ids),
    )  # fmt: skip


def validate_query(query: str) -> str:
    """The query normalised as article text is (control characters as spaces), or an error saying what is wrong.

    The one check every edge uses: a query of nothing but spaces and invisible characters (NUL, zero-width
    space, BOM, soft hyphen, bidi controls) is empty, and would otherwise match arbitrary articles.
    """
    if not isinstance(query, str) or not query.strip():
        raise InvalidQueryError("The query is empty; type some words to search for.")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQueryError(f"The query has {len(query)} characters; shorten it to at most {MAX_QUERY_CHARS}.")
    query = normalise("".join(" " if unicodedata.category(c) == "Cc" else c for c in query)).strip()
    if not any(unicodedata.category(c)[0] not in "CZ" for c in query):  # no letter, digit, mark or symbol
        raise InvalidQueryError("The query has no visible characters; type some words to search for.")
    return query


def _version(a: Article, score: float | None) -> Version:
    return Version(
        article_id=a.id, title=a.title, lang=a.lang, source=a.source or a.path, url=a.url, date=a.date, score=score
    )


def _copy(r: Republished, lang: str | None) -> Version:
    return Version(article_id=r.id, title=r.title, lang=lang, source=r.source or r.path, url=r.url, date=r.date,
                   score=None)  # fmt: skip


def validate_mode(mode: str, group: str) -> None:
    """Refuse an unknown retrieval mode or grouping."""
    if mode not in MODES:
        raise InvalidQueryError(f"Unknown mode {mode!r}; use one of {', '.join(MODES)}.")
    if group not in GROUPINGS:
        raise InvalidQueryError(f"Unknown grouping {group!r}; use one of {', '.join(GROUPINGS)}.")


def validate_offset(offset: int, k: int) -> None:
    """Refuse a negative offset, or one that pages past MAX_DEPTH results."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0 or offset + k > MAX_DEPTH:
        raise InvalidQueryError(f"offset must be a whole number from 0 to {MAX_DEPTH - k} (offset + k ≤ {MAX_DEPTH}).")


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
    backend = getattr(embedder, "backend", None)
    if backend is not None:
        check_interchangeable(manifest.model.encoder, backend)


def _query_encoder(manifest: Manifest, *, own: bool = False) -> str:
    """The encoder queries use by default: the index's own, except that a GPU-built index is queried on
    whatever this machine has (fp16 on a GPU, else fp32: measured interchangeable), and a torch-fp32 index
    with the same fp32 weights in ONNX Runtime (same vectors, no torch to import: a query starts in a second)."""
    if manifest.model.encoder == TORCH_FP16_CUDA:
        return AUTO
    if manifest.model.encoder == TORCH_FP32 and not own:
        return ONNX_FP32
    return manifest.model.encoder


def _model_key(name: str) -> str:
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name
