"""The HTTP API: an app factory over a served index (no globals, no environment reads).

Security and limits live at the edge (search/http_edge.py), which sees every request before a route
reads its body: an API key (sent as ``Authorization: Bearer KEY`` or ``X-API-Key``) guards the admin
routes always, and every route but the pages and /health when ``require_key`` is set (the CLI sets it
when binding beyond loopback). Request bodies over ``max_body_bytes`` (MAX_WRITE_BYTES for writes) get
413, counted as they arrive. Access logs are JSON lines without the query text unless ``log_queries``.
CORS is off unless origins are given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from http import HTTPStatus
from importlib.metadata import version
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.errors import SemsearchError
from index.settings import Settings
from search.engine import SearchEngine
from search.http_edge import Edge, LatencyWindow, describe_invalid_request
from search.results import (
    ArticlesIn,
    ArticleView,
    ErrorBody,
    IndexInfo,
    QueryParams,
    QueryRequest,
    QueryResult,
    ServerStats,
    WriteResult,
)
from search.serving import ServedIndex

_ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorBody} for code in (401, 403, 413, 415, 422, 503)}
_WRITE_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 413, 415, 422, 503)
}
# Largest request body accepted (a query with filters is well under 10 KB).
MAX_BODY_BYTES = 64 * 1024
# Largest body of a write (POST /articles): a batch of articles.
MAX_WRITE_BYTES = 16 << 20


def create_app(
    served: ServedIndex | SearchEngine,
    *,
    api_key: str | None = None,
    require_key: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    cors_origins: Sequence[str] = (),
    log_queries: bool = False,
) -> FastAPI:
    """A FastAPI app answering queries against ``served`` (an engine, or a served index that reloads)."""
    holder = served if isinstance(served, ServedIndex) else ServedIndex(served)
    # /docs and /redoc with Swagger UI's and ReDoc's assets served from the fastapi-offline package (under
    # /static-offline-docs), not a CDN: the docs work offline, as everything else does
    app = FastAPIOffline(
        title="semsearch", version=version("semsearch"), description="Cross-lingual semantic news search."
    )
    latency = LatencyWindow()
    # The edge runs before any route reads a body: keys on the headers alone, bodies counted as received.
    app.add_middleware(
        Edge, api_key=api_key, require_key=require_key, latency=latency, log_queries=log_queries,
        body_limit=lambda method, path: MAX_WRITE_BYTES if path == "/articles" else max_body_bytes,
    )  # fmt: skip
    if cors_origins:  # outside the edge, so a preflight (which carries no key) is answered here
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST"])

    def reader() -> SearchEngine:  # each request takes the current engine once, and keeps it to the end
        return holder.engine

    _error_handlers(app)
    _query_routes(app, reader)
    _page_routes(app)
    _status_routes(app, reader, holder, latency)
    _write_routes(app, holder)
    return app


def _error_handlers(app: FastAPI) -> None:
    """The app's one translation of errors: every error body is ``{"error": {"type", "message"}}``."""

    @app.exception_handler(SemsearchError)
    async def _semsearch_error(request: Request, exc: SemsearchError) -> JSONResponse:
        retry = getattr(exc, "retry_after_s", None)  # IndexBusyError: a write that waited for a build
        return JSONResponse(
            status_code=exc.http_status, content={"error": {"type": type(exc).__name__, "message": str(exc)}},
            headers=None if retry is None else {"Retry-After": str(retry)},
        )  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # a body that is not even JSON is an invalid request like any other (422), not a 400
        status = 422 if exc.status_code == 400 else exc.status_code
        kind = {422: "InvalidRequest", 413: "TooLarge"}.get(status) or HTTPStatus(status).phrase.replace(" ", "")
        return JSONResponse(status_code=status, content={"error": {"type": kind, "message": str(exc.detail)}},
                            headers=getattr(exc, "headers", None))  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = describe_invalid_request(exc.errors(), request.headers.get("content-type"))
        kind = "InvalidRequest" if status == 422 else "UnsupportedMediaType"
        return JSONResponse(status_code=status, content={"error": {"type": kind, "message": message}})


def _query_routes(app: FastAPI, reader: Callable[[], SearchEngine]) -> None:
    """Search and reading: /query (GET and POST take the same request model), /info, /articles/{id}."""

    # Plain ``def`` routes run in FastAPI's thread pool, so encoding never blocks the event loop.
    @app.get("/query", response_model=QueryResult, responses=_ERRORS)
    def get_query(params: Annotated[QueryParams, Query()], engine: SearchEngine = Depends(reader)) -> QueryResult:
        """Search: the k best articles (or stories) for q, each with its best passage and snippet; optional filters."""
        return engine.answer(params)

    @app.post("/query", response_model=QueryResult, responses=_ERRORS)
    def post_query(request: QueryRequest, engine: SearchEngine = Depends(reader)) -> QueryResult:
        """Search with a JSON body {"q": ..., "k": ..., "lang": ..., "since", "until", "source", "mode", "group"}."""
        return engine.answer(request)

    @app.get("/info", response_model=IndexInfo, responses=_ERRORS)
    def get_info(engine: SearchEngine = Depends(reader)) -> IndexInfo:
        """What the loaded index holds and how it was built."""
        return engine.info()

    @app.get("/articles/{article_id:path}", response_model=ArticleView, responses=_ERRORS | {404: {"model": ErrorBody}})
    def get_article(article_id: str, engine: SearchEngine = Depends(reader)) -> ArticleView:
        """One stored article: text, passages with their offsets, story versions and republished copies."""
        return engine.article(article_id)


def _page_routes(app: FastAPI) -> None:
    """The web pages and liveness. GET and HEAD: a monitor or a link checker asks for them with HEAD."""

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        """The search page (plain HTML and JavaScript over /query; nothing loaded from elsewhere)."""
        return HTMLResponse(_web("index.html"))

    @app.api_route(
        "/read/{article_id:path}", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
    )
    def read_page(article_id: str) -> HTMLResponse:
        """The article page (over /articles/{id})."""
        return HTMLResponse(_web("read.html"))

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness: the server process answers (no key needed)."""
        return {"status": "ok"}

    app.head("/health", include_in_schema=False)(health)  # one operation in the schema, two methods


def _status_routes(
    app: FastAPI, reader: Callable[[], SearchEngine], holder: ServedIndex, latency: LatencyWindow
) -> None:
    """Readiness and statistics of the served index."""
    started = time.monotonic()

    @app.get("/ready", responses=_ERRORS)
    def ready(engine: SearchEngine = Depends(reader)) -> dict[str, object]:
        """Readiness: an index is loaded and answers (the server never starts without one)."""
        return {"ready": True, "index_version": engine.index.version, "articles": engine.index.manifest.articles}

    @app.get("/stats", response_model=ServerStats, responses=_ERRORS)
    def stats(engine: SearchEngine = Depends(reader)) -> ServerStats:
        """Counts, model, index type and recall, uptime, and latency percentiles of recent queries."""
        m = engine.index.manifest
        vector_store, index_spec = engine.vector_index()
        return ServerStats(
            index_version=engine.index.version, articles=m.articles, passages=m.passages, languages=m.languages,
            model=m.model.name, vector_store=vector_store, index_spec=index_spec, recall=asdict(m.recall),
            uptime_s=round(time.monotonic() - started, 1),
            queries=latency.count, query_ms=latency.percentiles(), reloads=holder.reloads,
        )  # fmt: skip


def _write_routes(app: FastAPI, holder: ServedIndex) -> None:
    """Writes (one at a time; searches go on meanwhile) and the admin reload."""
    writing = threading.Lock()

    @app.post("/articles", response_model=WriteResult, responses=_WRITE_ERRORS)
    def post_articles(body: ArticlesIn) -> WriteResult:
        """Add or replace articles (by id); the new index version answers once this returns."""
        with writing:
            return _write(holder, upsert=[a.model_dump() for a in body.articles])

    @app.delete("/articles/{article_id:path}", response_model=WriteResult, responses=_WRITE_ERRORS)
    def delete_article(article_id: str) -> WriteResult:
        """Remove one article; the new index version answers once this returns."""
        with writing:
            return _write(holder, delete=[article_id])

    @app.post("/admin/reload", responses=_WRITE_ERRORS)
    def reload() -> dict[str, str]:
        """Serve the index's current version now (a build is also noticed by itself within a second)."""
        return {"index_version": holder.reload()}


def _write(holder: ServedIndex, upsert: Sequence[dict[str, object]] = (), delete: Sequence[str] = ()) -> WriteResult:
    from index import Article, Repaired, Skipped, articles_from_records, write_articles, write_settings

    engine = holder.engine
    if holder.index_dir is None:
        raise SemsearchError("This server was started without an index folder to write to.")
    if engine.store is not None:  # the collection holds one index version's vectors; a write makes another
        raise SemsearchError(f"This server searches vectors in {engine.store}: change the index with `semsearch "
                             "build`, copy it with `semsearch export`, then restart the server.")  # fmt: skip
    m = engine.index.manifest  # the write keeps how this index was built
    backend = engine.embedder.backend
    if backend != m.model.encoder:  # its vectors would not match the index's: every passage would be re-encoded
        raise SemsearchError(f"This server encodes with {backend} but the index was built with {m.model.encoder}; "
                             "restart it without --encoder/--fast to accept writes.")  # fmt: skip
    items = articles_from_records(upsert)
    articles = [i for i in items if isinstance(i, Article)]
    if holder.home is None:
        raise SemsearchError("This server was started without a SEMSEARCH_HOME for models; it cannot accept writes.")
    settings = write_settings(
        Settings(home=holder.home, index_dir=holder.index_dir, write_wait_s=holder.write_wait_s), m
    )
    report = write_articles(settings, articles, delete, embedder=engine.embedder)
    holder.reload()
    copies = {r.id: r.article_id for r in report.republished}
    return WriteResult(
        index_version=report.version, upserted=[a.id for a in articles if a.id not in copies], deleted=list(delete),
        republished=[{"id": a.id, "copy_of": copies[a.id]} for a in articles if a.id in copies],
        skipped=[{"id": i.path, "reason": i.reason} for i in items if isinstance(i, Skipped)],
        repaired=[{"id": i.path, "what": i.what} for i in items if isinstance(i, Repaired)],
        vectors_encoded=report.manifest.build.vectors_encoded,
    )  # fmt: skip


def _web(name: str) -> str:
    from importlib.resources import files

    return (files("search") / "web" / name).read_text(encoding="utf-8")
