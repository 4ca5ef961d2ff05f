"""The HTTP API: an app factory over a loaded SearchEngine (no globals, no environment reads)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from index.errors import SemsearchError
from index.settings import DEFAULT_GROUP, DEFAULT_K, DEFAULT_MODE, MAX_DEPTH, MAX_K, MAX_QUERY_CHARS
from search.engine import SearchEngine
from search.filters import parse_filters
from search.results import ArticleView, ErrorBody, Grouping, IndexInfo, Mode, QueryRequest, QueryResult, ServerStats

_ERRORS: dict[int | str, dict[str, object]] = {422: {"model": ErrorBody}, 503: {"model": ErrorBody}}


def create_app(engine: SearchEngine) -> FastAPI:
    """A FastAPI app answering queries against ``engine``."""
    app = FastAPI(title="semsearch", version=version("semsearch"), description="Cross-lingual semantic news search.")
    started = time.monotonic()
    latency = LatencyWindow()

    @app.exception_handler(SemsearchError)
    async def _semsearch_error(request: Request, exc: SemsearchError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.http_status, content={"error": {"type": type(exc).__name__, "message": str(exc)}}
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse(status_code=422, content={"error": {"type": "InvalidRequest", "message": problems}})

    # Plain ``def`` routes run in FastAPI's thread pool, so encoding never blocks the event loop.
    @app.get("/query", response_model=QueryResult, responses=_ERRORS)
    def get_query(
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="query text, any language")],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="how many articles")] = DEFAULT_K,
        offset: Annotated[int, Query(ge=0, le=MAX_DEPTH - 1, description="results to skip first (paging)")] = 0,
        lang: Annotated[str | None, Query(description="comma-separated ISO 639-1 codes, e.g. ar,fa")] = None,
        since: Annotated[str | None, Query(description="earliest article date, YYYY-MM-DD")] = None,
        until: Annotated[str | None, Query(description="latest article date, YYYY-MM-DD")] = None,
        source: Annotated[str | None, Query(description="outlet name, or a path prefix")] = None,
        mode: Annotated[Mode, Query(description="dense, lexical or hybrid")] = DEFAULT_MODE,
        group: Annotated[Grouping, Query(description="stories (one result per story) or articles")] = DEFAULT_GROUP,
        snippets: Annotated[bool, Query(description="best sentence(s) of each hit, with highlights")] = True,
    ) -> QueryResult:
        """Search: the k best articles (or stories) for q, each with its best passage and snippet; optional filters."""
        filters = parse_filters(lang, since, until, source, index_languages=engine.languages())
        return engine.search(q, k, filters=filters, mode=mode, group=group, snippets=snippets, offset=offset)

    @app.post("/query", response_model=QueryResult, responses=_ERRORS)
    def post_query(request: QueryRequest) -> QueryResult:
        """Search with a JSON body {"q": ..., "k": ..., "lang": ..., "since", "until", "source", "mode", "group"}."""
        filters = parse_filters(
            request.lang, request.since, request.until, request.source, index_languages=engine.languages()
        )
        return engine.search(
            request.q, request.k, filters=filters, mode=request.mode, group=request.group, snippets=request.snippets,
            offset=request.offset,
        )  # fmt: skip

    @app.get("/info", response_model=IndexInfo)
    def get_info() -> IndexInfo:
        """What the loaded index holds and how it was built."""
        return engine.info()

    @app.get("/articles/{article_id:path}", response_model=ArticleView, responses={404: {"model": ErrorBody}})
    def get_article(article_id: str) -> ArticleView:
        """One stored article: text, passages with their offsets, story versions and republished copies."""
        return engine.article(article_id)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness: the server process answers."""
        return {"status": "ok", "index_version": engine.index.version}

    @app.get("/ready")
    def ready() -> dict[str, object]:
        """Readiness: an index is loaded and answers (the server never starts without one)."""
        return {"ready": True, "index_version": engine.index.version, "articles": engine.index.manifest.articles}

    @app.get("/stats", response_model=ServerStats)
    def stats() -> ServerStats:
        """Counts, model, index type and recall, uptime, and latency percentiles of recent queries."""
        m = engine.index.manifest
        return ServerStats(
            index_version=engine.index.version, articles=m.articles, passages=m.passages, languages=m.languages,
            model=m.model.name, index_spec=m.index_spec, recall=m.recall, uptime_s=round(time.monotonic() - started, 1),
            queries=latency.count, query_ms=latency.percentiles(),
        )  # fmt: skip

    @app.middleware("http")
    async def _time_queries(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        if request.url.path == "/query" and response.status_code == 200:
            latency.add((time.perf_counter() - t0) * 1000)
        return response

    return app


class LatencyWindow:
    """The last WINDOW request durations, for percentiles; thread-safe."""

    WINDOW = 2_000

    def __init__(self) -> None:
        self._values: deque[float] = deque(maxlen=self.WINDOW)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, ms: float) -> None:
        """Record one request's duration."""
        with self._lock:
            self._values.append(ms)
            self.count += 1

    def percentiles(self) -> dict[str, float]:
        """p50, p90 and p99 of the window (empty when nothing was recorded)."""
        with self._lock:
            values = sorted(self._values)
        if not values:
            return {}
        pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 2)  # noqa: E731
        return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99)}
