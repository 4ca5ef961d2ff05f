"""The Ray build against the local one: same passages, same vectors; dead workers retried; bad addresses refused.

One local Ray instance (2 CPUs) serves the whole module; every test that builds on it is slow (a Ray build
takes ~20 s on two cores even with the plumbing embedder), so the quick loop keeps only the CLI's refusal. Ray pickles the test embedders by value, so its
worker processes need no access to the tests folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import Settings, build_index, open_index
from index.build.ray import build_index_on_ray, ray_session
from index.embedding import Embedder
from index.errors import SemsearchError
from index.storage.sources import SOURCES_FILE
from index.storage.versions import current_version
from tests.conftest import ROOT, SEEDS, TINY_CORPUS, HashEmbedder, write_corpus


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """One local Ray instance for the module (starting one costs seconds)."""
    import ray.cloudpickle

    import tests.conftest

    for module in (tests.conftest, sys.modules[__name__]):  # workers cannot import the tests: ship the code
        ray.cloudpickle.register_pickle_by_value(module)
    with ray_session(num_cpus=2):
        yield


class CountingEmbedder:
    """The driver's embedder, counting what it encodes (a Ray build must encode nothing on the driver)."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.encoded = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        self.encoded += len(texts)
        return self._inner.encode_passages(texts, batch_size)

    def encode_passages_pooled(self, texts: Sequence[str], spans: Any, batch_size: int) -> Any:
        self.encoded += len(texts)
        return self._inner.encode_passages_pooled(texts, spans, batch_size)  # type: ignore[attr-defined]


class DyingEmbedder(HashEmbedder):
    """Kills its worker process at its first encode while ``marker`` exists (removing it first): a worker
    dying mid-build, once. With ``always``, every worker dies."""

    def __init__(self, marker: Path, always: bool = False) -> None:
        super().__init__()
        self.marker, self.always = marker, always

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        if self.always or self.marker.exists():
            self.marker.unlink(missing_ok=True)
            os._exit(1)
        return super().encode_passages(texts, batch_size)


class LoggingEmbedder(HashEmbedder):
    """Appends how many texts each worker encodes to ``log`` (workers are other processes)."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self.log = log

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        with self.log.open("a") as fh:
            fh.write(f"{len(texts)}\n")
        return super().encode_passages(texts, batch_size)


def _same_index(a: Settings, b: Settings, atol: float) -> None:
    """Two indexes hold the same articles, passages (ids, offsets, texts), stories and vectors."""
    x, y = open_index(a.index_dir), open_index(b.index_dir)
    assert [r.id for r in x.store.all_articles()] == [r.id for r in y.store.all_articles()]
    assert x.store.article_keys() == y.store.article_keys()
    passages_x = [p for r in x.store.all_articles() for p in x.store.passages_of(r.id)]
    passages_y = [p for r in y.store.all_articles() for p in y.store.passages_of(r.id)]
    assert passages_x == passages_y and len(passages_x) > 0
    assert np.array_equal(x.rows.ids, y.rows.ids) and np.array_equal(x.rows.articles, y.rows.articles)
    np.testing.assert_allclose(np.asarray(x.rows.raw), np.asarray(y.rows.raw), atol=atol)
    assert np.array_equal(x.sentences.offsets, y.sentences.offsets)
    np.testing.assert_allclose(np.asarray(x.sentences.vectors, np.float32), np.asarray(y.sentences.vectors, np.float32),
                               atol=max(atol, 2e-3))  # float16 storage: one rounding step apart at most  # fmt: skip
    assert x.store.stories(list(range(1, 200))) == y.store.stories(list(range(1, 200)))
    assert x.manifest.passages == y.manifest.passages and x.manifest.languages == y.manifest.languages


@pytest.mark.slow
def test_ray_build_of_the_demo_corpus_equals_the_local_build(
    ray_cluster: None, seeds_index: Settings, real_embedder: Embedder, tmp_path: Path
) -> None:
    # no embedding cache: it holds every seed vector from seeds_index's build, and the workers must encode them
    ray_settings = Settings(home=seeds_index.home, index_dir=tmp_path / "ray-index", cache_bytes=0)
    driver = CountingEmbedder(real_embedder)
    report = build_index_on_ray([SEEDS], ray_settings, embedder=driver)  # type: ignore[arg-type]
    assert driver.encoded == 0  # every vector came from the Ray workers
    assert report.manifest.articles == 103 and report.manifest.build.vectors_reused == 0
    assert report.manifest.build.vectors_precomputed == report.manifest.build.vectors_encoded > 103
    _same_index(seeds_index, ray_settings, atol=1e-5)


def _tiny_corpus(folder: Path) -> Path:
    files = dict(TINY_CORPUS)
    files["dupe.jsonl"] = '{"id": "fr-1", "title": "Doublon", "text": "Un autre texte avec le même identifiant."}\n'
    files["broken.zip"] = "not a zip archive"
    return write_corpus(folder, files)


@pytest.mark.slow  # a Ray build takes ~20 s on two cores, whatever the embedder
def test_a_worker_that_dies_is_restarted_and_the_build_completes(ray_cluster: None, tmp_path: Path) -> None:
    corpus = _tiny_corpus(tmp_path / "corpus")
    local = Settings(home=tmp_path / "home", index_dir=tmp_path / "local")
    build_index([corpus], local, embedder=HashEmbedder())
    marker = tmp_path / "die-once"
    marker.touch()
    # another home: its embedding cache is empty (a warm one would leave the workers nothing to encode)
    distributed = Settings(home=tmp_path / "ray-home", index_dir=tmp_path / "ray")
    report = build_index_on_ray([corpus], distributed, embedder=HashEmbedder(),
                                worker_embedder=lambda: DyingEmbedder(marker))  # fmt: skip
    assert not marker.exists()  # a worker did die
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons["feed.jsonl#1"] == "duplicate article id 'fr-1'" and "broken.zip" in reasons
    _same_index(local, distributed, atol=0)


@pytest.mark.slow  # a Ray build takes ~20 s on two cores, whatever the embedder
def test_a_ray_rebuild_encodes_only_new_text(ray_cluster: None, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "index")
    first = build_index_on_ray([corpus], settings, embedder=HashEmbedder(), worker_embedder=HashEmbedder)
    (corpus / "new.txt").write_text("A new article\n\nIt was added after the first build.", encoding="utf-8")
    driver, log = HashEmbedder(), tmp_path / "encoded.log"
    second = build_index_on_ray([corpus], settings, embedder=driver, worker_embedder=lambda: LoggingEmbedder(log))
    assert driver.encoded == 0  # the new article's passage and headline came from the workers...
    assert sum(map(int, log.read_text().split())) == 2  # ...which encoded only those
    before = first.manifest.passages + first.manifest.headlines
    assert second.manifest.build.vectors_reused == before  # the rest: new text, from the workers
    assert second.manifest.passages + second.manifest.headlines == before + 2


@pytest.mark.slow  # a Ray build takes ~20 s on two cores, whatever the embedder
def test_a_build_whose_workers_keep_dying_fails_cleanly(ray_cluster: None, tmp_path: Path) -> None:
    corpus = _tiny_corpus(tmp_path / "corpus")
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "index")
    build_index([corpus], settings, embedder=HashEmbedder())
    before = current_version(settings.index_dir)
    (corpus / "new.txt").write_text("A new article\n\nIt was added after the first build.", encoding="utf-8")
    with pytest.raises(SemsearchError, match=r"Ray build failed while encoding.*previous index is unchanged"):
        build_index_on_ray([corpus], settings, embedder=HashEmbedder(),
                           worker_embedder=lambda: DyingEmbedder(tmp_path / "x", always=True))  # fmt: skip
    assert current_version(settings.index_dir) == before
    assert sorted(p.name for p in settings.index_dir.iterdir()) == sorted(
        [".build.lock", "current", SOURCES_FILE, before.name]
    )
    assert open_index(settings.index_dir).manifest.articles == 7


@pytest.mark.slow  # seconds: a whole benchmark run, starting Ray, or extracting NTREX pages
def test_an_unreachable_ray_address_is_refused_quickly_by_the_cli(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "semsearch"), "build", str(SEEDS), "--ray", f"127.0.0.1:{port}",
         "--index", str(tmp_path / "index")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"The Ray cluster at 127.0.0.1:{port} did not answer" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 30
    assert not (tmp_path / "index" / "current").exists()


@pytest.mark.slow  # a Ray build takes ~20 s on two cores, whatever the embedder
def test_a_ray_build_reports_what_happened_and_ships_no_cached_text(ray_cluster: None, tmp_path: Path) -> None:
    """Issue 19.4: a Ray build's report and progress count what it did (vectors encoded on Ray, reused, from the
    cache; articles read), and texts the embedding cache holds are not shipped to the workers."""
    from index.build.pipeline import BuildProgress
    from search.render import vector_counts

    corpus = write_corpus(tmp_path / "corpus")
    log = tmp_path / "encoded.log"
    events: list[BuildProgress] = []
    first = build_index_on_ray([corpus], Settings(home=tmp_path / "home", index_dir=tmp_path / "a"),
                               embedder=HashEmbedder(), worker_embedder=lambda: LoggingEmbedder(log),
                               progress=events.append)  # fmt: skip
    total = first.manifest.passages + first.manifest.headlines
    build = first.manifest.build
    assert build.vectors_encoded == build.vectors_precomputed == total and total > 7
    assert build.vectors_reused == build.vectors_cached == 0
    assert sum(map(int, log.read_text().split())) == total  # each text encoded once, on the workers
    assert [e.done for e in events if e.stage == "read"][-1] == 7  # articles, not read tasks
    assert [e for e in events if e.stage == "embed"][-1] == BuildProgress("embed", total, total)
    assert vector_counts(asdict(build)) == f"{total} vectors encoded ({total} on Ray), 0 reused, 0 from the cache"
    log.unlink()
    events.clear()
    # another index from the same sources: the cache holds every vector, so nothing goes to the workers
    second = build_index_on_ray([corpus], Settings(home=tmp_path / "home", index_dir=tmp_path / "b"),
                                embedder=HashEmbedder(), worker_embedder=lambda: LoggingEmbedder(log),
                                progress=events.append)  # fmt: skip
    assert not log.exists()
    assert second.manifest.build.vectors_cached == total and second.manifest.build.vectors_encoded == 0
    assert [e for e in events if e.stage == "embed"] == [BuildProgress("embed", 0, 0)]
    assert vector_counts(asdict(second.manifest.build)) == f"0 vectors encoded, 0 reused, {total} from the cache"
    _same_index(
        Settings(home=tmp_path / "home", index_dir=tmp_path / "a"),
        Settings(home=tmp_path / "home", index_dir=tmp_path / "b"),
        atol=1e-6,
    )
