"""Serving: reloading a rebuilt index, API keys, body limits and access logs (plumbing embedder)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import search.serving
from index import SemsearchError, Settings, build_index, open_index
from search import SearchEngine
from search.api import create_app
from search.serving import ServedIndex
from tests.conftest import HashEmbedder, write_corpus


@pytest.fixture
def served(tmp_path: Path) -> tuple[ServedIndex, Settings, Path]:
    folder = write_corpus(tmp_path / "c", {"a.txt": "Alpha\n\nThe first story, about a harbour in the north."})
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx")
    build_index([folder], settings, embedder=HashEmbedder())
    engine = SearchEngine(open_index(settings.index_dir), HashEmbedder())
    return ServedIndex(engine, settings.index_dir, home=settings.home), settings, folder


def test_a_rebuilt_index_is_served_after_reload(served: tuple[ServedIndex, Settings, Path]) -> None:
    holder, settings, folder = served
    client = TestClient(create_app(holder, api_key="s3cret"))
    before = holder.engine.index.version
    (folder / "b.txt").write_text("Beta\n\nA second story, about a bridge in the south.", encoding="utf-8")
    build_index([folder], settings, embedder=HashEmbedder())
    assert client.post("/admin/reload", headers={"X-API-Key": "s3cret"}).json()["index_version"] != before
    ids = {
        h["article_id"]
        for h in client.get("/query", params={"q": "bridge south", "group": "articles"}).json()["results"]
    }
    assert "b.txt" in ids and client.get("/stats").json()["reloads"] == 1


def test_a_new_version_is_noticed_without_being_asked(
    served: tuple[ServedIndex, Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    holder, settings, folder = served
    monkeypatch.setattr(search.serving, "RELOAD_CHECK_S", 0.0)
    before = holder.engine.index.version
    (folder / "c.txt").write_text("Gamma\n\nA third story, about a tunnel.", encoding="utf-8")
    build_index([folder], settings, embedder=HashEmbedder())
    deadline = time.monotonic() + 10
    while holder.engine.index.version == before:  # the first call starts a background load
        assert time.monotonic() < deadline, "the new version was not picked up"
        time.sleep(0.05)
    assert holder.reloads == 1


def test_admin_routes_always_need_a_key(served: tuple[ServedIndex, Settings, Path]) -> None:
    holder, _, _ = served
    no_key_configured = TestClient(create_app(holder))
    assert no_key_configured.post("/admin/reload").status_code == 403
    client = TestClient(create_app(holder, api_key="s3cret"))
    assert client.post("/admin/reload").status_code == 401
    wrong = client.post("/admin/reload", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and "s3cret" not in wrong.text
    assert client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/query", params={"q": "harbour"}).status_code == 200  # reads are open on loopback


def test_every_route_needs_the_key_beyond_loopback(served: tuple[ServedIndex, Settings, Path]) -> None:
    holder, _, _ = served
    client = TestClient(create_app(holder, api_key="s3cret", require_key=True))
    assert client.get("/query", params={"q": "harbour"}).status_code == 401
    assert client.get("/query", params={"q": "harbour"}, headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/articles/a.txt").status_code == 401
    assert client.get("/health").status_code == 200  # liveness stays open for load balancers


def test_oversized_bodies_get_413_and_logs_leave_queries_out(
    served: tuple[ServedIndex, Settings, Path], caplog: pytest.LogCaptureFixture
) -> None:
    holder, _, _ = served
    client = TestClient(create_app(holder, max_body_bytes=1_000))
    big = client.post("/query", content=b'{"q": "' + b"x" * 2_000 + b'"}', headers={"content-type": "application/json"})
    assert big.status_code == 413
    with caplog.at_level(logging.INFO, logger="semsearch.access"):
        client.get("/query", params={"q": "secret harbour words"})
    assert any('"path": "/query"' in r.message for r in caplog.records)
    assert not any("secret" in r.message for r in caplog.records)


def test_serve_refuses_a_public_address_without_a_key(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from search.cli import app

    result = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--index", str(tmp_path / "none")], env={"SEMSEARCH_API_KEY": ""}
    )
    assert result.exit_code == 1 and "needs an API key" in result.output


def test_write_path_upserts_and_deletes_while_clients_query(served: tuple[ServedIndex, Settings, Path]) -> None:
    import threading

    holder, _, _ = served
    client = TestClient(create_app(holder, api_key="s3cret"))
    key = {"X-API-Key": "s3cret"}
    errors: list[str] = []
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            response = client.get("/query", params={"q": "story harbour bridge", "group": "articles"})
            if response.status_code != 200:
                errors.append(response.text)

    readers = [threading.Thread(target=query) for _ in range(8)]
    for reader in readers:
        reader.start()
    try:
        first = client.post("/articles", headers=key, json={"articles": [
            {"id": "w1", "title": "Bridge", "text": "A new bridge opened in the south on Monday, after ten years."},
            {"id": "w2", "title": "Tunnel", "text": "The tunnel under the river will close for repairs in May.",
             "date": "not a date"},
        ]})  # fmt: skip
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["upserted"] == ["w1", "w2"] and body["repaired"][0]["id"] == "w2"
        replaced = client.post("/articles", headers=key, json={"articles": [
            {"id": "w1", "title": "Bridge", "text": "The new bridge in the south carried its first trains today."}]})  # fmt: skip
        assert replaced.status_code == 200 and replaced.json()["vectors_encoded"] >= 1, replaced.text
        assert client.delete("/articles/w2", headers=key).json()["deleted"] == ["w2"]
    finally:
        stop.set()
        for reader in readers:
            reader.join(30)
    assert errors == []
    ids = {a.id for a in holder.engine.index.store.all_articles()}
    assert ids == {"a.txt", "w1"}
    assert "first trains" in client.get("/articles/w1").json()["text"]
    assert client.delete("/articles/w2", headers=key).status_code == 404
    assert client.post("/articles", json={"articles": [{"id": "x", "text": "y"}]}).status_code == 401
    bad = client.post("/articles", headers=key, json={"articles": [{"id": "x"}]})
    assert bad.status_code == 422 and "text" in bad.json()["error"]["message"]


class _Fp32Hash(HashEmbedder):
    backend = "torch-fp32"  # the plumbing embedder named as the default CPU backend


class _Int8Hash(HashEmbedder):
    backend = "onnx-int8"  # same vectors as the plumbing embedder, named as another backend


def test_a_server_querying_with_another_encoder_refuses_writes(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"a.txt": "Alpha\n\nThe first story, about a harbour in the north."})
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx")
    build_index([folder], settings, embedder=_Fp32Hash())  # recorded as torch-fp32
    holder = ServedIndex(SearchEngine(open_index(settings.index_dir), _Int8Hash()), settings.index_dir)
    client = TestClient(create_app(holder, api_key="k"))
    assert client.get("/query", params={"q": "harbour"}).status_code == 200  # an interchangeable query encoder
    response = client.post("/articles", headers={"X-API-Key": "k"}, json={"articles": [{"id": "b", "text": "Beta."}]})
    assert response.status_code == 400 and "restart it without --encoder" in response.text
    assert open_index(settings.index_dir).manifest.articles == 1


def _versions(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.glob("v-*"))


def test_an_idle_server_keeps_its_version_through_two_rebuilds(
    served: tuple[ServedIndex, Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18.4: after two rebuilds with no traffic, the version an idle server still held was deleted and the
    next queries got HTTP 500s; a version is now kept while a process holds its lease."""
    import httpx

    from tests.conftest import running_server

    holder, settings, folder = served
    holder.close()  # this server does not move on, by itself or on traffic: only its lease keeps its version
    monkeypatch.setattr(search.serving, "RELOAD_CHECK_S", 3600.0)
    first = holder.engine.index.version
    for n in range(2):
        (folder / f"r{n}.txt").write_text(f"Rebuild {n}\n\nStory number {n}, about a ferry.", encoding="utf-8")
        build_index([folder], settings, embedder=HashEmbedder())
    assert first in _versions(settings.index_dir) and len(_versions(settings.index_dir)) == 3
    with running_server(create_app(holder)) as url:
        statuses = [httpx.get(f"{url}/query", params={"q": f"harbour north {i}"}).status_code for i in range(40)]
    assert statuses == [200] * 40 and holder.engine.index.version == first
    holder.close()
    holder._engine = None  # type: ignore[assignment]  # the server lets the version go...
    import gc

    gc.collect()
    (folder / "r2.txt").write_text("Rebuild 2\n\nStory number 2, about a ferry.", encoding="utf-8")
    build_index([folder], settings, embedder=HashEmbedder())
    assert first not in _versions(settings.index_dir)  # ...and the next publish deletes it


def test_reload_does_not_wait_for_traffic(
    served: tuple[ServedIndex, Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18.4: a new version was noticed only when a request arrived; a watcher now loads it with no traffic."""
    import httpx

    from tests.conftest import running_server

    monkeypatch.setattr(search.serving, "RELOAD_CHECK_S", 0.05)
    holder, settings, folder = served
    first = holder.engine.index.version
    for n in range(2):
        (folder / f"r{n}.txt").write_text(f"Rebuild {n}\n\nStory number {n}, about a ferry.", encoding="utf-8")
        build_index([folder], settings, embedder=HashEmbedder())
    latest = (settings.index_dir / "current").resolve().name
    deadline = time.monotonic() + 10
    while holder._engine.index.version != latest:  # not through .engine: that would be traffic
        assert time.monotonic() < deadline, "the new version was not loaded without traffic"
        time.sleep(0.05)
    with running_server(create_app(holder)) as url:
        answers = [httpx.get(f"{url}/query", params={"q": "ferry", "group": "articles"}) for _ in range(20)]
    assert [a.status_code for a in answers] == [200] * 20 and first != latest
    assert {a.json()["index_version"] for a in answers} == {latest}
    holder.close()


def test_a_damaged_current_version_is_tried_once(
    served: tuple[ServedIndex, Settings, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 18.18: a damaged `current` was loaded (and verified) again every second while the server kept the
    old one; it is now remembered until `current` changes."""
    monkeypatch.setattr(search.serving, "RELOAD_CHECK_S", 0.05)
    attempts: list[Path] = []
    real_open = search.serving.open_index
    monkeypatch.setattr(search.serving, "open_index", lambda path, **kw: attempts.append(path) or real_open(path, **kw))
    holder, settings, folder = served
    first = holder.engine.index.version
    (folder / "b.txt").write_text("Beta\n\nA second story, about a bridge in the south.", encoding="utf-8")
    build_index([folder], settings, embedder=HashEmbedder())
    broken = (settings.index_dir / "current").resolve() / "sentences.npy"
    os.truncate(broken, 10)
    with caplog.at_level(logging.ERROR, logger="semsearch.serving"):
        time.sleep(1.5)  # some 30 checks of `current`
        for _ in range(5):
            assert holder.engine.index.version == first
    assert len(attempts) == 1 and holder.failed_loads == 1
    assert sum("could not load index version" in r.getMessage() for r in caplog.records) == 1
    (folder / "c.txt").write_text("Gamma\n\nA third story, about a tunnel.", encoding="utf-8")
    build_index([folder], settings, embedder=HashEmbedder())  # current moves: tried again, and served
    deadline = time.monotonic() + 10
    while holder._engine.index.version == first:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(attempts) == 2
    holder.close()


def test_a_truncated_file_is_refused_on_reload_and_logged_while_served(
    served: tuple[ServedIndex, Settings, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 18.13: truncating a mapped file under a running server killed it with SIGBUS and no log line; sizes
    are checked against the manifest on reload (refused, the old version keeps answering) and while serving."""
    monkeypatch.setattr(search.serving, "RELOAD_CHECK_S", 3600.0)
    holder, settings, folder = served
    first = holder.engine.index.version
    (folder / "b.txt").write_text("Beta\n\nA second story, about a bridge in the south.", encoding="utf-8")
    build_index([folder], settings, embedder=HashEmbedder())
    new = (settings.index_dir / "current").resolve()
    os.truncate(new / "embeddings.npy", 100)
    with pytest.raises(SemsearchError, match=r"embeddings\.npy"):
        holder.reload()
    client = TestClient(create_app(holder))
    assert client.get("/query", params={"q": "harbour"}).json()["index_version"] == first
    served_file = settings.index_dir / first / "rows.npz"
    os.truncate(served_file, 10)
    with caplog.at_level(logging.ERROR, logger="semsearch.serving"):
        holder._check_sizes()
        holder._check_sizes()
    lines = [r.getMessage() for r in caplog.records if "changed on disk" in r.getMessage()]
    assert len(lines) == 1 and "rows.npz" in lines[0]
    holder.close()


def _chunked_post(base_url: str, path: str, total: int, headers: str = "", timeout_s: float = 20.0) -> tuple[str, int]:
    """POST a chunked body of ``total`` spaces on a raw socket, writing only while the server has not answered;
    returns the response's status line and how many body bytes were written."""
    import select
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(base_url)
    sock = socket.create_connection((url.hostname, url.port))
    head = f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nTransfer-Encoding: chunked\r\n"
    sock.sendall((head + "Content-Type: application/json\r\n" + headers + "\r\n").encode())
    sock.setblocking(False)
    piece, sent, pending, reply = 64 * 1024, 0, b"", b""
    deadline = time.monotonic() + timeout_s
    try:
        while b"\r\n" not in reply:
            assert time.monotonic() < deadline, f"no answer after {sent} bytes"
            if not pending and sent < total:
                pending = f"{piece:x}\r\n".encode() + b" " * piece + b"\r\n"
                sent += piece
                pending += b"0\r\n\r\n" if sent >= total else b""
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 0.2)
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                reply += data
            elif writable:
                try:
                    pending = pending[sock.send(pending) :]
                except (BrokenPipeError, ConnectionResetError):
                    pending = b""
    finally:
        sock.close()
    return reply.split(b"\r\n", 1)[0].decode(), sent


def test_chunked_bodies_are_capped_on_the_bytes_received(served: tuple[ServedIndex, Settings, Path]) -> None:
    """Issue 18.1: a chunked body (no Content-Length) over the cap gets 413 after the cap, on every route;
    an unauthenticated write is refused on its headers before any of its body is read."""
    from tests.conftest import running_server

    holder, _, _ = served
    app = create_app(holder, api_key="s3cret", max_body_bytes=64 * 1024)
    with running_server(app) as url:
        t0 = time.monotonic()
        status, sent = _chunked_post(url, "/query", total=256 << 20)
        assert " 413 " in status and sent < 256 << 20 and time.monotonic() - t0 < 10, (status, sent)
        # a write has its own, larger cap (16 MiB), counted the same way
        status, sent = _chunked_post(url, "/articles", total=256 << 20, headers="X-API-Key: s3cret\r\n")
        assert " 413 " in status and sent < 256 << 20, (status, sent)
        # no key: 401 at once, though the body never comes (the old code waited to read it all)
        status, sent = _chunked_post(url, "/articles", total=0, timeout_s=5)
        assert " 401 " in status and sent == 0
        # a chunked body under the cap is read as usual
        import httpx

        def small() -> Iterator[bytes]:
            yield b'{"q": "harbour",'
            yield b' "k": 1}'

        ok = httpx.post(url + "/query", content=small(), headers={"content-type": "application/json"})
        assert ok.status_code == 200 and ok.json()["results"][0]["article_id"] == "a.txt"


def test_head_answers_for_the_pages_and_health(served: tuple[ServedIndex, Settings, Path]) -> None:
    """Issue 18 minor "HEAD /": HEAD / (and /health, /read/{id}) answer 200 with no body, not 405."""
    holder, _, _ = served
    client = TestClient(create_app(holder, api_key="s3cret", require_key=True))
    for path in ("/", "/health", "/read/a.txt"):
        response = client.head(path)
        assert response.status_code == 200 and response.content == b"", path
    assert client.head("/").headers["content-type"].startswith("text/html")


def test_a_copy_sent_to_the_write_path_is_reported_and_points_to_its_original(
    served: tuple[ServedIndex, Settings, Path],
) -> None:
    """Issue 18.11: POST /articles reports copies under `republished` with the article they copy (not as
    upserted), GET /articles/{copy} answers 200 with `copy_of` and the original's text, and DELETE removes it."""
    holder, _, _ = served
    client = TestClient(create_app(holder, api_key="s3cret"))
    key = {"X-API-Key": "s3cret"}
    text = "The harbour authority opened a new ferry terminal on the north shore after six years of building work."
    sent = client.post("/articles", headers=key, json={"articles": [
        {"id": "orig", "title": "Terminal opens", "text": text, "date": "2024-05-01", "source": "First"},
        {"id": "copy", "title": "Terminal opens (wire)", "text": text, "date": "2024-05-02", "source": "Second"},
    ]})  # fmt: skip
    assert sent.status_code == 200, sent.text
    assert sent.json()["upserted"] == ["orig"]
    assert sent.json()["republished"] == [{"id": "copy", "copy_of": "orig"}]
    got = client.get("/articles/copy")
    assert got.status_code == 200, got.text
    view = got.json()
    assert view["copy_of"] == "orig" and view["article_id"] == "copy" and view["source"] == "Second"
    assert view["text"] == text and view["passages"]
    assert client.get("/articles/orig").json()["copy_of"] is None
    assert [c["article_id"] for c in client.get("/articles/orig").json()["republished"]] == ["copy"]
    assert client.delete("/articles/copy", headers=key).json()["deleted"] == ["copy"]
    assert client.get("/articles/copy").status_code == 404
    assert client.get("/articles/orig").json()["republished"] == []


def test_beyond_loopback_the_docs_need_the_key_and_the_pages_do_not(served: tuple[ServedIndex, Settings, Path]) -> None:
    """Issue 18.10: with a key required, /docs, /redoc and /openapi.json follow the key rule of every data
    route (they were open); the pages (/, /read/{id}: HTML and JavaScript, no data) and /health need none."""
    import httpx

    from tests.conftest import running_server

    holder, _, _ = served
    with (
        running_server(create_app(holder, api_key="s3cret", require_key=True)) as url,
        httpx.Client(base_url=url) as http,
    ):
        for path in ("/", "/read/a.txt", "/health"):
            assert http.get(path).status_code == 200, path
        for path in ("/docs", "/redoc", "/openapi.json", "/query?q=harbour", "/stats"):
            refused = http.get(path)
            assert refused.status_code == 401 and "API key" in refused.json()["error"]["message"], path
            assert http.get(path, headers={"X-API-Key": "s3cret"}).status_code == 200, path
            assert http.get(path, headers={"Authorization": "Bearer nope"}).status_code == 403, path
    # on loopback (no key required) the docs stay open
    assert TestClient(create_app(holder, api_key="s3cret")).get("/openapi.json").status_code == 200
