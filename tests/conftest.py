"""Shared fixtures. Two embedders: the real default model (retrieval quality, marked slow) and a
deterministic hashing embedder for plumbing tests (storage, chunking, errors) that need no model."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import Settings, build_index, load_embedder
from index.embedding import Embedder
from index.embedding.testing import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ARTICLE = "000_1db846cdeb2b71b3.txt"
# Corpora kept beside the checkout, not in it (NTREX-128): tests that need them skip on a clone alone.
SHARED = ROOT.parent / "shared"
# Set by .ci/run, which has ../shared: a test that would skip for want of it fails instead.
REQUIRE_SHARED = "SEMSEARCH_REQUIRE_SHARED"


TINY_CORPUS = {
    "en_quake.txt": "Earthquake strikes Indonesia\n\nA strong earthquake struck the island of Sulawesi on Friday. "
    "Hundreds of people were killed and thousands lost their homes. Rescue teams are searching the rubble.",
    "en_football.txt": "Local club wins the cup\n\nThe football club won the national cup final on Sunday. "
    "Fans celebrated in the streets until late at night.",
    "ar_treaty.txt": "روسيا وإيران توقعان معاهدة شراكة\n\nوقع الرئيسان معاهدة شراكة استراتيجية في موسكو يوم الجمعة. "
    "وتشمل المعاهدة التعاون في مجالات الطاقة والنقل.",
    "zh_rain.txt": "暴雨袭击南方城市\n\n周末的暴雨导致多个城市发生洪水。数千名居民被疏散。气象部门发布了红色预警。",
    "nested/ru_space.md": "# Запуск ракеты\n\nРакета успешно стартовала с космодрома. Спутник выведен на орбиту.",
    "feed.jsonl": '{"id": "fr-1", "title": "Grève des transports à Paris", "text": "Les métros et les bus sont '
    'à l\'arrêt ce lundi. Les syndicats demandent une hausse des salaires.", "url": "https://example.org/fr-1", '
    '"date": "2024-03-04", "source": "Exemple"}\n'
    '{"id": "fa-1", "title": "افزایش قیمت نفت", "text": "قیمت نفت در بازارهای جهانی افزایش یافت. '
    'کارشناسان این افزایش را به کاهش تولید نسبت می‌دهند.", "lang": "fa"}\n',
}


def write_corpus(folder: Path, files: dict[str, str] = TINY_CORPUS) -> Path:
    """Write files into ``folder`` and return it."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder


def shared_path(*parts: str) -> Path:
    """``../shared/<parts>``; the calling test skips, naming what is missing, when it is not there (and fails
    instead where SEMSEARCH_REQUIRE_SHARED=1, as in CI)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"../shared/{'/'.join(parts)} is not beside this checkout"
        if os.environ.get(REQUIRE_SHARED) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_SHARED}=1 requires it")
        pytest.skip(reason)
    return path


@pytest.fixture
def ntrex() -> Path:
    """NTREX-128 (``../shared/corpus-ntrex``); skips the test without it (see ``shared_path``)."""
    return shared_path("corpus-ntrex")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a fresh index folder under tmp_path."""
    return Settings(home=tmp_path / "home", index_dir=tmp_path / "index")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A tiny multilingual corpus on disk."""
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    """The plumbing embedder."""
    return HashEmbedder()


@pytest.fixture
def hash_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands load the plumbing embedder instead of a model (for CLI tests of output, not of retrieval), and a
    rebuild's no-op check knows its identity without materialising the real model."""
    import index.build.pipeline
    import search.engine

    def identity(settings: Settings, embedder: Embedder | None, on_stage: object = None) -> tuple[str, str]:
        chosen = embedder or HashEmbedder()
        return chosen.fingerprint, chosen.backend

    monkeypatch.setattr(search.engine, "load_embedder", lambda *args, **kwargs: HashEmbedder())
    monkeypatch.setattr(index.build.pipeline, "load_embedder", lambda *args, **kwargs: HashEmbedder())
    monkeypatch.setattr(index.build.pipeline, "model_identity", identity)


@pytest.fixture
def tiny_index(settings: Settings, corpus: Path, hash_embedder: HashEmbedder) -> Settings:
    """The tiny corpus built with the plumbing embedder; returns its settings."""
    build_index([corpus], settings, embedder=hash_embedder)
    return settings


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The real default model (materialised once into the user's SEMSEARCH_HOME cache)."""
    return load_embedder(None, Settings.from_env().models_dir)


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Settings:
    """seeds/ built once with the real model."""
    base = tmp_path_factory.mktemp("seeds-index")
    settings = Settings(home=Settings.from_env().home, index_dir=base / "index")
    build_index([SEEDS], settings, embedder=real_embedder)
    return settings


@contextlib.contextmanager
def running_server(app: object) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 (free port) in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
