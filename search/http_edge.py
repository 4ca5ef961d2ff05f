"""The HTTP edge below the routes: API keys, body limits and access logs, as one pure ASGI middleware.

It runs before FastAPI reads a request body, so it decides on the headers alone whether the request
may be read at all (a POST /articles without a key is refused without reading its body), and it
counts the body's bytes as they arrive through ``receive``: a chunked upload has no Content-Length
to trust, so the cap is on what was actually received, for every route.

Who needs a key (``access``): the search page and the article page (``/``, ``/read/…``; plain HTML
and JavaScript, no data) and ``/health`` never; writes and admin routes (POST /articles, DELETE
/articles/…, POST /admin/…) always; everything else (reads, the API docs, methods no route has) when
the server requires a key (it binds beyond loopback).
Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.errors import SemsearchError

Access = Literal["open", "read", "admin"]
_access_log = logging.getLogger("semsearch.access")


class UnauthorizedError(SemsearchError):
    """No API key sent where one is needed."""

    http_status = 401


class ForbiddenError(SemsearchError):
    """A wrong API key, or a route that needs a key the server was not given."""

    http_status = 403


class BodyTooLargeError(HTTPException):
    """The request body grew past the route's cap while it was being received.

    An ``HTTPException`` so that FastAPI, which turns other errors raised while reading a body into a 400,
    lets it through to the app's handler as a 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"The request body is over {limit} bytes.")


def access(method: str, path: str) -> Access:
    """Which key rule a request falls under (see the module docstring)."""
    if path in ("/", "/health") or path.startswith("/read/"):
        return "open"
    writes = method == "POST" and (path == "/articles" or path.startswith("/admin/"))
    return "admin" if writes or (method == "DELETE" and path.startswith("/articles/")) else "read"


def check_key(headers: Headers, api_key: str | None) -> None:
    """Refuse a request whose key is missing (401) or wrong (403); a server without a key refuses too."""
    if api_key is None:
        raise ForbiddenError("This route needs an API key: start the server with --api-key or SEMSEARCH_API_KEY.")
    given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
    if not given:
        raise UnauthorizedError("Send the API key as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.")
    if not hmac.compare_digest(given.encode(), api_key.encode()):
        raise ForbiddenError("The API key is not valid.")


def error_response(status: int, kind: str, message: str) -> JSONResponse:
    """The JSON error body every route answers with."""
    return JSONResponse(status_code=status, content={"error": {"type": kind, "message": message}})


class Edge:
    """ASGI middleware: key check on the headers, stream-counted body cap, latency and access log."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None,
        require_key: bool,
        body_limit: Callable[[str, str], int],
        latency: LatencyWindow,
        log_queries: bool,
    ) -> None:
        self.app = app
        self.api_key = api_key
        self.require_key = require_key
        self.body_limit = body_limit
        self.latency = latency
        self.log_queries = log_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        method, path = scope["method"], scope["path"]
        status = 500
        started = False

        async def send_logged(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        limit = self.body_limit(method, path)
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        try:
            refusal = self._refusal(method, path, Headers(scope=scope), limit)
            if refusal is not None:
                await refusal(scope, receive, send_logged)
            else:
                await self.app(scope, receive_counted, send_logged)
        except BodyTooLargeError as exc:  # raised outside FastAPI's body reading (a raw route, a middleware)
            if started:
                raise
            await error_response(413, "TooLarge", str(exc.detail))(scope, receive, send_logged)
        finally:
            ms = (time.perf_counter() - t0) * 1000
            if path == "/query" and status == 200:
                self.latency.add(ms)
            entry: dict[str, object] = {"method": method, "path": path, "status": status, "ms": round(ms, 2)}
            if self.log_queries and scope.get("query_string"):
                entry["query"] = scope["query_string"].decode("latin-1")
            _access_log.info(json.dumps(entry))

    def _refusal(self, method: str, path: str, headers: Headers, limit: int) -> JSONResponse | None:
        """The response refusing this request on its headers alone, or None to let it through."""
        rule = access(method, path)
        if rule == "admin" or (rule == "read" and self.require_key):
            try:
                check_key(headers, self.api_key)
            except SemsearchError as exc:
                return error_response(exc.http_status, type(exc).__name__, str(exc))
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return error_response(413, "TooLarge", f"The request body is over {limit} bytes.")
        return None


def describe_invalid_request(errors: Sequence[Mapping[str, Any]], content_type: str | None) -> tuple[int, str]:
    """A request FastAPI could not validate, in HTTP's terms: (status, message).

    Names query parameters and JSON fields as a client sends them (not pydantic's ``body.11``); a body sent
    without a JSON content type gets 415 saying so.
    """
    sent_json = (content_type or "").split(";")[0].strip().lower()
    sent_json_ok = sent_json == "application/json" or sent_json.endswith("+json")
    if not sent_json_ok and any(e["loc"] and e["loc"][0] == "body" for e in errors):
        shown = f"Content-Type {content_type!r}" if content_type else "no Content-Type"
        return (
            415,
            f"This route takes a JSON object as its body; it was sent with {shown}: send 'Content-Type: application/json'.",
        )
    problems = []
    for e in errors:
        where, rest = (e["loc"][0], [str(part) for part in e["loc"][1:]]) if e["loc"] else ("", [])
        if e["type"] == "json_invalid":
            problems.append(
                f"request body is not valid JSON: {e.get('ctx', {}).get('error', e['msg'])} at character {rest[0] if rest else 0}"
            )
        elif e["type"] == "extra_forbidden":
            problems.append(f"unknown field {'.'.join(rest)!r} in the JSON body; check its spelling")
        elif where == "body" and not rest:
            problems.append(
                "request body "
                + (
                    "is missing: send a JSON object"
                    if e["type"] == "missing"
                    else f"must be a JSON object ({e['msg']})"
                )
            )
        else:
            kind = {"body": "field", "query": "query parameter", "path": "path parameter", "header": "header"}.get(
                str(where), str(where)
            )
            problems.append(f"{kind} {'.'.join(rest)}: {e['msg']}")
    return 422, "; ".join(problems)


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
