"""Serving: reloading a rebuilt index, API keys, body limits and access logs (plumbing embedder)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import search.serving
from index import Settings, build_index, open_index
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
    return ServedIndex(engine, settings.index_dir), settings, folder


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
