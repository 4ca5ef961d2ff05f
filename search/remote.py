"""Ask a running ``semsearch serve`` instead of opening the index here (``semsearch query --url``).

A server keeps the model and the index loaded, so a query through it costs one HTTP round trip. The
request is ``POST /query`` with the same fields the CLI takes, so the answer is the JSON the local engine
would print. urllib, not httpx: this path must start as fast as the CLI itself. No silent fallback: an
unreachable server is an error naming it, and a server that serves another index than the one the user
named is refused by the index version it reports.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from index.errors import IndexMismatchError, IndexNotFoundError, InvalidQueryError, SemsearchError

TIMEOUT_S = 30.0


def query_server(
    url: str,
    queries: Sequence[str],
    params: dict[str, Any],
    *,
    api_key: str | None = None,
    expect_version: str | None = None,
    timeout: float = TIMEOUT_S,
) -> list[dict[str, Any]]:
    """The server's answers (QueryResult as JSON) to ``queries``, in order; ``params`` are /query's fields
    (k, offset, mode, group, snippets, lang, since, until, source). ``expect_version``: refuse an answer from
    another index version than this one."""
    base = url.rstrip("/")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    fields = {k: v for k, v in params.items() if v is not None}
    answers = []
    for q in queries:
        body = json.dumps({"q": q, **fields}).encode()
        request = urllib.request.Request(f"{base}/query", data=body, headers=headers, method="POST")
        answer = _send(request, base, timeout)
        version = answer.get("index_version")
        if expect_version is not None and version != expect_version:
            raise IndexMismatchError(
                f"The server at {base} serves index version {version}, not {expect_version} (the index named by "
                "--index); point --url at the server of that index, or query without --url."
            )
        answers.append(answer)
    return answers


def _send(request: urllib.request.Request, base: str, timeout: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        raise _server_error(exc, base) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SemsearchError(
            f"Cannot reach a semsearch server at {base} ({reason}); start one with `semsearch serve`, or query "
            "the local index without --url / SEMSEARCH_URL."
        ) from None


def _server_error(exc: urllib.error.HTTPError, base: str) -> SemsearchError:
    """The server's own error message, as the error type its status stands for."""
    try:
        message = json.loads(exc.read())["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {exc.code} {exc.reason}"
    if exc.code in (401, 403):
        return SemsearchError(f"The server at {base} refused the API key: {message} (set SEMSEARCH_API_KEY).")
    kind = {422: InvalidQueryError, 503: IndexNotFoundError, 409: IndexMismatchError}.get(exc.code, SemsearchError)
    return kind(f"The server at {base} answered: {message}")
