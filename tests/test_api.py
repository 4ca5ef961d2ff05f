"""The HTTP API: in-process with the plumbing embedder, and a live uvicorn on 127.0.0.1 with the real model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from index import Settings, open_index
from index.embedding import Embedder
from index.settings import MAX_K, MAX_QUERY_CHARS
from search import SearchEngine
from search.api import create_app
from search.cli import app as cli_app
from tests.conftest import SEED_ARTICLE, HashEmbedder, running_server


@pytest.fixture
def client(tiny_index: Settings) -> TestClient:
    return TestClient(create_app(SearchEngine(open_index(tiny_index.index_dir), HashEmbedder())))


def test_get_and_post_answer_the_same(client: TestClient) -> None:
    got = client.get("/query", params={"q": "earthquake rescue", "k": 3})
    posted = client.post("/query", json={"q": "earthquake rescue", "k": 3})
    assert got.status_code == posted.status_code == 200
    a, b = got.json(), posted.json()
    assert [h["article_id"] for h in a["results"]] == [h["article_id"] for h in b["results"]]
    assert a["results"][0]["article_id"] == "en_quake.txt" and len(a["results"]) == 3
    assert a["index_version"].startswith("v-")


@pytest.mark.parametrize(
    ("method", "kwargs", "status", "fragment"),
    [
        ("get", {"params": {"q": ""}}, 422, "q"),
        ("get", {"params": {"q": "   "}}, 422, "empty"),
        ("get", {"params": {}}, 422, "q"),
        ("get", {"params": {"q": "x", "k": 0}}, 422, "k"),
        ("get", {"params": {"q": "x", "k": MAX_K + 1}}, 422, "k"),
        ("get", {"params": {"q": "x", "k": "ten"}}, 422, "k"),
        ("get", {"params": {"q": "x" * (MAX_QUERY_CHARS + 1)}}, 422, "q"),
        ("post", {"json": {"k": 3}}, 422, "q"),
        ("post", {"json": {"q": " \n "}}, 422, "empty"),
        ("post", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        # Issue 19.12: requests described in HTTP's terms (fields as sent; no CLI flags, no pydantic `body.11`)
        ("post", {"json": {"q": "x", "lnag": "en"}}, 422, "unknown field 'lnag'"),
        (
            "post",
            {"content": b'{"q": "x",,}', "headers": {"content-type": "application/json"}},
            422,
            "request body is not valid JSON",
        ),
        ("post", {"json": ["x"]}, 422, "request body must be a JSON object"),
        ("post", {"json": {"q": "x", "since": "2024-13-01"}}, 422, "since '2024-13-01' is not a date"),
        ("get", {"params": {"q": "x", "until": "soon"}}, 422, "until 'soon' is not a date"),
        (
            "post",
            {"json": {"q": "x", "since": "2024-05-01", "until": "2024-01-01"}},
            422,
            "since 2024-05-01 is after until 2024-01-01",
        ),
        ("post", {"content": b'{"q": "x"}'}, 415, "Content-Type: application/json"),
        ("post", {"content": b'{"q": "x"}', "headers": {"content-type": "text/plain"}}, 415, "'text/plain'"),
        # Issue 18.16: invisible characters only (NUL, ZWSP, BOM, soft hyphen, bidi controls) are an empty query
        ("get", {"params": {"q": "\x00"}}, 422, "no visible characters"),
        ("get", {"params": {"q": "\u200b\ufeff\u00ad"}}, 422, "no visible characters"),
        ("post", {"json": {"q": "\u202e\u2066\u2069"}}, 422, "no visible characters"),
    ],
)
def test_bad_requests_get_4xx_with_a_json_error(
    client: TestClient, method: str, kwargs: dict, status: int, fragment: str
) -> None:
    response = getattr(client, method)("/query", **kwargs)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and fragment.lower() in body["error"]["message"].lower()
    assert "--" not in body["error"]["message"] and "body." not in body["error"]["message"]


def test_a_language_absent_from_the_index_answers_before_encoding(tiny_index: Settings) -> None:
    """Issue 19.12: lang=de (a valid code no article has) answers empty with its note without encoding the query."""
    embedder = HashEmbedder()
    client = TestClient(create_app(SearchEngine(open_index(tiny_index.index_dir), embedder)))
    for response in (client.post("/query", json={"q": "flood", "lang": "de"}),
                     client.get("/query", params={"q": "flood", "lang": "de", "mode": "hybrid"})):  # fmt: skip
        assert response.status_code == 200 and response.json()["results"] == []
        assert "lang=de" in response.json()["note"]
    assert embedder.encoded == 0
    assert client.get("/query", params={"q": "flood"}).status_code == 200 and embedder.encoded == 1


def test_health_info_and_openapi(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    info = client.get("/info").json()
    assert info["manifest"]["articles"] == 7
    schema = client.get("/openapi.json").json()
    assert {"/query", "/health", "/info"} <= set(schema["paths"])


@pytest.fixture(scope="module")
def live_server(seeds_index: Settings, real_embedder: Embedder) -> Iterator[str]:
    with running_server(create_app(SearchEngine(open_index(seeds_index.index_dir), real_embedder))) as url:
        yield url


@pytest.mark.slow
def test_live_server_answers_the_same_hits_as_the_cli(live_server: str, seeds_index: Settings) -> None:
    queries = ["Russia Iran treaty", "Тайфун в Японии", "北朝鲜 核武器"]
    cli = CliRunner().invoke(
        cli_app, ["query", "--batch", "-", "--json", "-k", "5", "--index", str(seeds_index.index_dir)],
        input="\n".join(queries),
    )  # fmt: skip
    assert cli.exit_code == 0, cli.stderr
    from_cli = [json.loads(line) for line in cli.stdout.splitlines()]
    with httpx.Client(base_url=live_server, timeout=30) as http:
        for query, expected in zip(queries, from_cli):
            for response in (
                http.get("/query", params={"q": query, "k": 5}),
                http.post("/query", json={"q": query, "k": 5}),
            ):
                assert response.status_code == 200
                got = response.json()
                assert [h["article_id"] for h in got["results"]] == [h["article_id"] for h in expected["results"]]
                assert [h["passage_id"] for h in got["results"]] == [h["passage_id"] for h in expected["results"]]
                assert [h["score"] for h in got["results"]] == pytest.approx(
                    [h["score"] for h in expected["results"]], abs=1e-4
                )
        assert from_cli[0]["results"][0]["article_id"] == SEED_ARTICLE
        bad = http.get("/query", params={"q": ""})
        assert bad.status_code == 422 and "error" in bad.json()


@pytest.mark.slow
def test_live_server_handles_concurrent_queries(live_server: str) -> None:
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=live_server, timeout=60) as http:
            for _ in range(3):
                r = http.get("/query", params={"q": "Russia Iran treaty", "k": 3})
                if r.status_code != 200 or r.json()["results"][0]["article_id"] != SEED_ARTICLE:
                    errors.append(r.text)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


DOT_ID = "a/../../stats"


def test_an_id_with_dot_segments_is_one_path_segment(tmp_path: Path) -> None:
    """Issue 18.17: an article id with `/../` segments, sent percent-encoded as one path segment, reaches that
    article (read, deleted) and never another endpoint such as /stats."""
    from index import build_index
    from search.serving import ServedIndex

    (tmp_path / "c").mkdir()
    records = [{"id": DOT_ID, "title": "Dots", "text": "A story whose id climbs up the path with dot segments."},
               {"id": "b", "title": "Other", "text": "Another story about a harbour and its ferries."}]  # fmt: skip
    (tmp_path / "c" / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx")
    build_index([tmp_path / "c"], settings, embedder=HashEmbedder())
    holder = ServedIndex(
        SearchEngine(open_index(settings.index_dir), HashEmbedder()), settings.index_dir, home=tmp_path / "home"
    )
    with running_server(create_app(holder, api_key="k")) as url, httpx.Client(base_url=url) as http:
        encoded = "/articles/" + quote(DOT_ID, safe="")
        got = http.get(encoded)
        assert got.status_code == 200 and got.json()["article_id"] == DOT_ID and "uptime_s" not in got.text
        assert http.get("/read/" + quote(DOT_ID, safe="")).headers["content-type"].startswith("text/html")
        assert http.delete(encoded, headers={"X-API-Key": "k"}).json()["deleted"] == [DOT_ID]
        assert http.get(encoded).status_code == 404
