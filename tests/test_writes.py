"""The write path (POST /articles, DELETE /articles/{id}): where its encoders come from, and how it queues
behind builds (plumbing embedder, real FAISS and SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import index.build.encode
from index import Settings, build_index, open_index
from index.storage.sources import SOURCES_FILE
from index.storage.versions import CURRENT, LOCK_FILE
from search import SearchEngine
from search.api import create_app
from search.serving import ServedIndex
from tests.conftest import HashEmbedder, write_corpus

KEY = {"X-API-Key": "k"}


class PoolHash(HashEmbedder):
    """The plumbing embedder named as a CPU backend, so a build may spread it over an encode pool."""

    backend = "torch-fp32"


def load_pool_hash(name: str | None, models_dir: Path, encoder: str | None = None, **_: Any) -> PoolHash:
    """Stands in for load_embedder in the encode workers: materialises a (tiny) model into models_dir as the
    real one does, then returns the plumbing embedder."""
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / "model.bin").write_bytes(b"weights")
    return PoolHash()


def index_files(index_dir: Path) -> set[str]:
    """Names in the index folder that are not index versions, the pointer, the lock or the last build's record."""
    known = (CURRENT, LOCK_FILE, SOURCES_FILE)
    return {p.name for p in index_dir.iterdir() if p.name not in known and not p.name.startswith("v-")}


@pytest.mark.slow  # ~5 s: starts a pool of encoder processes
def test_pool_writes_keep_models_out_of_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18.2: with more encode workers than this machine has cores, a write's encode pool materialised the
    model into INDEX/models/, and every later write or build was refused; models belong under SEMSEARCH_HOME."""
    folder = write_corpus(tmp_path / "c", {"a.txt": "Alpha\n\nThe first story, about a harbour in the north."})
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx")
    build_index([folder], settings, embedder=PoolHash())
    monkeypatch.setattr(index.build.encode, "available_cores", lambda: 8)  # two workers of four threads
    monkeypatch.setattr(index.build.encode, "load_embedder", load_pool_hash)
    holder = ServedIndex(SearchEngine(open_index(settings.index_dir), PoolHash()), settings.index_dir,
                         home=settings.home)  # fmt: skip
    client = TestClient(create_app(holder, api_key="k"))
    for n in range(2):
        article = {"id": f"w{n}", "title": f"Bridge {n}", "text": f"A new bridge number {n} opened in the south."}
        response = client.post("/articles", headers=KEY, json={"articles": [article]})
        assert response.status_code == 200, response.text
        assert response.json()["vectors_encoded"] >= 1
    assert (settings.models_dir / "model.bin").is_file()  # the workers ran, and kept their model in the home
    assert index_files(settings.index_dir) == set()
    report = build_index([folder], settings, embedder=PoolHash())  # a build on that index still works
    assert report.manifest.articles == 1 and index_files(settings.index_dir) == set()


def test_a_build_refuses_models_inside_its_index(tmp_path: Path, corpus: Path) -> None:
    """Issue 18.2: settings that would keep models inside the index folder are refused before anything is written."""
    from index.errors import SemsearchError

    with pytest.raises(SemsearchError, match="inside the index folder"):
        build_index([corpus], Settings(home=tmp_path / "idx", index_dir=tmp_path / "idx"), embedder=HashEmbedder())
    assert not (tmp_path / "idx" / "models").exists()


def test_a_write_during_a_build_queues_then_gets_503_with_retry_after(tmp_path: Path) -> None:
    """Issue 18.8: a write during `semsearch build` was refused at once (HTTP 400); it now waits for the build
    (bounded by a setting) and is applied when the build ends, or gets 503 with Retry-After."""
    import threading
    import time

    from index.storage.versions import build_lock

    folder = write_corpus(tmp_path / "c", {"a.txt": "Alpha\n\nThe first story, about a harbour in the north."})
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "idx")
    build_index([folder], settings, embedder=HashEmbedder())
    holder = ServedIndex(SearchEngine(open_index(settings.index_dir), HashEmbedder()), settings.index_dir,
                         home=settings.home, write_wait_s=0.5)  # fmt: skip
    client = TestClient(create_app(holder, api_key="k"))
    article = {"articles": [{"id": "w", "title": "Bridge", "text": "A new bridge opened in the south."}]}

    def hold_build(seconds: float, entered: threading.Event) -> None:
        with build_lock(settings.index_dir):  # what `semsearch build` holds while it runs
            entered.set()
            time.sleep(seconds)

    for seconds, expected in ((0.2, 200), (2.0, 503)):
        entered = threading.Event()
        build = threading.Thread(target=hold_build, args=(seconds, entered))
        build.start()
        entered.wait(5)
        started = time.monotonic()
        response = client.post("/articles", headers=KEY, json=article)
        waited = time.monotonic() - started
        build.join()
        assert response.status_code == expected, response.text
        if expected == 200:  # queued behind the build, then applied
            assert response.json()["upserted"] == ["w"] and 0.1 < waited < 2
        else:
            assert response.headers["Retry-After"] == "1" and 0.4 < waited < 1.9
            assert "Another build is writing" in response.json()["error"]["message"]
    holder.close()
