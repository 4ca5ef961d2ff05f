"""Answer queries against a built index: validate the request once, encode, retrieve, make hits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

from index import (
    Embedder,
    Filter,
    LoadedIndex,
    Manifest,
    QueryEncoder,
    Settings,
    VectorBackend,
    check_interchangeable,
    current_version,
    load_embedder,
    open_index,
    query_backend,
    read_manifest,
)
from index.errors import IndexMismatchError, InvalidQueryError
from index.settings import (
    DEFAULT_GROUP,
    DEFAULT_K,
    DEFAULT_MODE,
    FUSION_DEPTH,
    MAX_BATCH_QUERIES,
    STORY_FANOUT,
)
from search.confidence import ConfidenceModel, Features
from search.encoding import compose
from search.hits import article_view, make_hits
from search.results import (
    ArticleView,
    Grouping,
    IndexInfo,
    Mode,
    QueryOptions,
    QueryRequest,
    QueryResult,
    validate_query,
)
from search.retrieval import Allowed, allowed_rows, rank


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
        batching: bool = False,
        encoder: QueryEncoder | None = None,
    ) -> None:
        """``embedder``: the model (its query side answers queries, its passage side a server's writes); or
        ``loader``, called at the first query that needs vectors (a lexical query never loads the model).
        ``vectors``: the dense backend, if already opened. ``batching``: micro-batch concurrent queries (a
        server). ``encoder``: the query encoder another engine composed over the same ``embedder`` (a server's
        reload keeps its query cache and batching)."""
        if embedder is None and loader is None:
            raise ValueError("SearchEngine needs an embedder or a loader for one")
        self.index = index
        self.store = store
        self.vectors = vectors if vectors is not None else _vector_store(store, index)
        self.confidence = ConfidenceModel.shipped()
        self.warnings: list[str] = []
        self.batching = batching
        self._loader = loader
        self._loading = threading.Lock()
        self._embedder: Embedder | None = None
        self._encoder: QueryEncoder | None = None
        if embedder is not None:
            self._adopt(embedder, encoder)

    @property
    def embedder(self) -> Embedder:
        """The model, loaded (and checked against the index) on first use."""
        if self._embedder is None:
            with self._loading:
                if self._embedder is None:
                    assert self._loader is not None
                    self._adopt(self._loader())
        assert self._embedder is not None
        return self._embedder

    @property
    def encoder(self) -> QueryEncoder:
        """What encodes queries: the model under the query cache (and micro-batching), composed once."""
        if self._encoder is None:
            self.embedder  # noqa: B018 - loads the model, which composes the encoder
        assert self._encoder is not None
        return self._encoder

    def _adopt(self, embedder: Embedder, encoder: QueryEncoder | None = None) -> None:
        """Check the model against the index, note what the user should know, compose the query encoder."""
        _check_model(self.index.manifest, embedder)
        if embedder.fingerprint != self.index.manifest.model.fingerprint:
            warning = (
                f"The model's weights differ from the ones that built this index ({embedder.source}); "
                "results may be slightly off. Rebuild with `semsearch build` to match."
            )
            if warning not in self.warnings:
                self.warnings.append(warning)
        for notice in embedder.notices:  # e.g. the ONNX encoder fell back to torch
            if notice not in self.warnings:
                self.warnings.append(notice)
        self._encoder = encoder if encoder is not None else compose(embedder, batching=self.batching)
        self._embedder = embedder

    @property
    def model_loaded(self) -> bool:
        """Whether the query encoder is loaded (a lexical query never loads it)."""
        return self._embedder is not None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        own_encoder: bool = False,
        batching: bool = False,
        on_stage: Callable[[str], None] | None = None,
    ) -> SearchEngine:
        """Open the index at ``settings.index_dir``; its own model (or the one asked for, if the same) loads
        at the first query that needs it. ``own_encoder``: by default the index's own encoder (for a server
        that writes passages into the index), not the faster query encoder of a torch-fp32 index.
        ``batching``: micro-batch concurrent queries (a server). ``on_stage``: told when loading the model
        starts a slow one-time step (materialising it, the ONNX export)."""
        index = open_index(settings.index_dir)
        recorded = index.manifest.model.name
        if settings.model and _model_key(settings.model) != _model_key(recorded):
            raise IndexMismatchError(
                f"The index at {settings.index_dir} was built with {recorded!r}, not {settings.model!r}. "
                f"Query without --model, or rebuild with `semsearch build --model {settings.model} ...`."
            )
        vectors = _vector_store(settings.store, index)  # a stale store is refused before the model loads
        encoder = settings.encoder or query_backend(index.manifest.model.encoder, own=own_encoder)

        def loader() -> Embedder:
            return load_embedder(settings.model or recorded, settings.models_dir, encoder, use_gpu=settings.use_gpu,
                                 on_stage=on_stage)  # fmt: skip

        return cls(index, store=settings.store, vectors=vectors, loader=loader, batching=batching)

    def answer(self, request: QueryRequest) -> QueryResult:
        """The answer to one validated request (what the HTTP routes call)."""
        return self.answer_many([request.q], request)[0]

    def answer_many(self, queries: Sequence[str], options: QueryOptions) -> list[QueryResult]:
        """Answers to queries already checked by ``validate_query``, under one set of validated options, with
        one model call (what the CLI calls); its filters are parsed here, once."""
        return self._answer(list(queries), options, options.filter(self.languages()))

    def search(
        self,
        query: str,
        k: int = DEFAULT_K,
        article_ids: Sequence[str] | None = None,
        filters: Filter | None = None,
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
        filters: Filter | None = None,
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
        cleaned = [validate_query(q) for q in queries]
        options = QueryOptions.of(k=k, offset=offset, mode=mode, group=group, snippets=snippets)
        chosen = replace(filters or Filter(), article_ids=None if article_ids is None else tuple(article_ids))
        return self._answer(cleaned, options, chosen)

    def _answer(self, queries: list[str], options: QueryOptions, chosen: Filter) -> list[QueryResult]:
        """The answers, each query validated, the options and the filter too (the one path of every edge)."""
        started = time.perf_counter()
        if len(queries) > MAX_BATCH_QUERIES:
            raise InvalidQueryError(f"{len(queries)} queries in one batch; send at most {MAX_BATCH_QUERIES}.")
        allowed = self._allowed(chosen)
        if allowed is not None and chosen.active and len(allowed.ids) == 0:  # nothing can match: before encoding
            note = f"No article in this index matches the filters ({chosen.describe()})."
            return [self._result(q, options, [], started, note) for q in queries]
        vectors = self.encoder.encode_queries(queries) if options.mode != "lexical" else [None] * len(queries)
        per_query_ms = (time.perf_counter() - started) * 1000 / max(1, len(queries))
        fanout = STORY_FANOUT if options.group == "stories" else 1
        depth = max(FUSION_DEPTH, (options.offset + options.k) * fanout)
        results = []
        for query, vector in zip(queries, vectors):
            t0 = time.perf_counter() - per_query_ms / 1000
            ranking = rank(self.index, self.vectors, self.confidence, query, vector, options.mode, depth, allowed)
            hits = make_hits(self.index, ranking, vector, options.k, options.group, options.snippets, options.offset)
            weak = ranking.no_good_match(options.offset + options.k)
            results.append(self._result(query, options, hits, t0, weak))
        return results

    def _result(self, query: str, options: QueryOptions, hits: list, since: float, note: str | None) -> QueryResult:
        took = round((time.perf_counter() - since) * 1000, 2)
        return QueryResult(query=query, k=options.k, offset=options.offset, mode=options.mode, group=options.group,
                           results=hits, took_ms=took, index_version=self.index.version, note=note)  # fmt: skip

    def _allowed(self, chosen: Filter) -> Allowed | None:
        """The rows ``chosen`` lets a query return (None: every row); unknown article ids are an error."""
        if not chosen.limits:
            return None
        if chosen.article_ids is not None:
            ids = list(chosen.article_ids)
            unknown = sorted(set(ids) - set(self.index.store.article_numbers(ids)))
            if unknown:
                shown = ", ".join(map(repr, unknown[:5])) + (" …" if len(unknown) > 5 else "")
                raise InvalidQueryError(
                    f"Unknown article id(s) in the filter: {shown}; see `semsearch info` for the index."
                )
        return allowed_rows(self.index, self.index.store.article_numbers_where(chosen), chosen)

    def ranking_features(
        self, query: str, mode: Mode = DEFAULT_MODE, depth: int = FUSION_DEPTH
    ) -> list[tuple[str, Features]]:
        """The articles of ``query``'s ranking, best first, with the features their confidence comes from
        (what ``benchmarks/fit_confidence.py`` fits on)."""
        request = QueryRequest.of(q=query, mode=mode)
        vector = self.encoder.encode_queries([request.q])[0] if mode != "lexical" else None
        ranking = rank(self.index, self.vectors, self.confidence, request.q, vector, request.mode, depth)
        ids = {number: article_id for article_id, (number, *_) in self.index.store.article_keys().items()}
        return [(ids[c.article], f) for c, f in zip(ranking.candidates, ranking.features)]

    def vector_index(self) -> tuple[str, str]:
        """Where dense search runs ("faiss" or "milvus") and the spec of the vector index it searches there."""
        spec = str(self.vectors.spec)
        if self.store is None:
            return "faiss", spec
        from index import milvus_index_type

        return "milvus", f"{spec} (Milvus {milvus_index_type(self.vectors.spec)[0]})"

    def languages(self) -> list[str]:
        """Language codes present in the index."""
        return list(self.index.manifest.languages)

    def article(self, article_id: str) -> ArticleView:
        """One stored article with its passages, story versions and republished copies (see ``article_view``)."""
        return article_view(self.index, article_id)

    def info(self) -> IndexInfo:
        """The manifest of the loaded index."""
        return IndexInfo(
            index_dir=str(self.index.folder.parent), version=self.index.version, manifest=asdict(self.index.manifest)
        )


def _vector_store(store: str | None, index: LoadedIndex) -> VectorBackend:
    """Where dense search runs: the index's own FAISS file (read at the first dense search), or the Milvus
    ``store`` (``open_vector_store``, imported only then: the export and Milvus modules are not a query's)."""
    if store is None:
        return index.vectors
    from index import open_vector_store

    return open_vector_store(store, index)


def describe_index(index_dir: Path) -> IndexInfo:
    """The manifest of the index at ``index_dir``, without loading the model or the vectors."""
    folder = current_version(index_dir)
    return IndexInfo(index_dir=str(index_dir), version=folder.name, manifest=asdict(read_manifest(folder)))


def _check_model(manifest: Manifest, embedder: QueryEncoder) -> None:
    if embedder.dimension != manifest.model.dimension:
        raise IndexMismatchError(
            f"The model {embedder.name!r} makes {embedder.dimension}-dimensional vectors but the index holds "
            f"{manifest.model.dimension}-dimensional ones from {manifest.model.name!r}; query with that model "
            "or rebuild the index."
        )
    check_interchangeable(manifest.model.encoder, embedder.backend)


def _model_key(name: str) -> str:
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name
