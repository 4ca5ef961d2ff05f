"""The Milvus vector store, against Milvus Lite through the same client code a Milvus cluster gets: export,
search with filters inside Milvus, the engine's modes and grouping, refusals, and agreement with exact FAISS."""

from __future__ import annotations

import json
import socket
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from index import Filter, Settings, build_index, open_index
from index.embedding import Embedder
from index.errors import IndexMismatchError, IndexNotFoundError, SemsearchError
from index.storage.vector_store import export_to_milvus, open_vector_store
from index.vectors.milvus_store import MilvusVectors, expression, parse_store
from search import SearchEngine
from search.api import create_app
from search.cli import app as cli_app
from search.evaluation import load_judgements
from search.filters import parse_filters
from search.serving import ServedIndex
from tests.conftest import ROOT, HashEmbedder, write_corpus


class OtherWeights(HashEmbedder):
    """The same name and dimension, other weights."""

    fingerprint = "hash-v2"


def lite(tmp_path: Path, collection: str = "news") -> str:
    """A Milvus Lite store in tmp_path (the URI of an absolute path starts milvus:///)."""
    return f"milvus://{tmp_path}/vectors.db/{collection}"


def test_store_uris_name_a_server_or_a_lite_file(tmp_path: Path) -> None:
    server = parse_store("milvus://reader:s3cret@milvus.example.org:19531/news_2025")
    assert (server.uri, server.collection, server.token) == (
        "http://milvus.example.org:19531",
        "news_2025",
        "reader:s3cret",
    )
    assert "s3cret" not in server.text and not server.lite
    assert parse_store("milvus+https://milvus.example.org").uri == "https://milvus.example.org:19530"
    assert parse_store("milvus://milvus.example.org").collection == "semsearch"
    local = parse_store(lite(tmp_path))
    assert local.lite and local.uri == str(tmp_path / "vectors.db") and local.collection == "news"
    for bad, fragment in [("faiss://x", "Unknown vector store"), ("milvus://host:port/x", "Bad port"),
                          ("milvus://host/bad-name", "Bad collection name"), (f"milvus://{tmp_path}/no/x.db", "No folder")]:  # fmt: skip
        with pytest.raises(SemsearchError, match=fragment):
            parse_store(bad)


def test_filters_become_milvus_expressions() -> None:
    where = Filter(langs=("ar", "fa"), since=date(2024, 1, 1), until=date(2024, 6, 30), source='a_b%"c',
                   article_ids=("x.txt",))  # fmt: skip
    assert expression(where, None) == (
        'lang in ["ar","fa"] and day != "" and day >= "2024-01-01" and day != "" and day <= "2024-06-30" and '
        '(source == "a_b%\\"c" or path like "a\\\\_b\\\\%\\"c%") and article in ["x.txt"]'
    )
    assert expression(None, np.array([3, 5])) == "id in [3,5]" and expression(None, None) == ""


@pytest.fixture
def exported(tiny_index: Settings, tmp_path: Path) -> tuple[Settings, str]:
    """The tiny index (plumbing embedder) exported exactly (FLAT) into Milvus Lite."""
    store = lite(tmp_path)
    report = export_to_milvus(tiny_index.index_dir, store, index_type="Flat")
    assert report.vectors == len(open_index(tiny_index.index_dir).rows) and report.index_type == "FLAT"
    return tiny_index, store


FILTERS = [
    {}, {"lang": "en"}, {"lang": "fr,fa"}, {"since": "2024-03-01"}, {"until": "2024-03-04"}, {"source": "Exemple"},
    {"source": "nested/"}, {"source": "en_"}, {"lang": "en,ru", "source": "nested"},
]  # fmt: skip


@pytest.mark.parametrize("mode", ["dense", "hybrid", "lexical"])
@pytest.mark.parametrize("group", ["stories", "articles"])
def test_milvus_answers_like_faiss_in_every_mode_grouping_and_filter(
    exported: tuple[Settings, str], mode: str, group: str
) -> None:
    settings, store = exported
    local = SearchEngine(open_index(settings.index_dir), HashEmbedder())
    remote = SearchEngine(open_index(settings.index_dir), HashEmbedder(), store=store)
    assert isinstance(remote.vectors, MilvusVectors)
    for raw in FILTERS:
        filters = parse_filters(**raw)
        for query in ("earthquake rescue Sulawesi", "Grève des transports", "قیمت نفت"):
            a = local.search(query, 5, filters=filters, mode=mode, group=group)  # type: ignore[arg-type]
            b = remote.search(query, 5, filters=filters, mode=mode, group=group)  # type: ignore[arg-type]
            assert [(h.article_id, h.passage_id, h.versions) for h in a.results] == [
                (h.article_id, h.passage_id, h.versions) for h in b.results
            ], (raw, query)
            assert a.note == b.note
            assert [h.score for h in a.results] == pytest.approx([h.score for h in b.results], abs=1e-5)
    only = ["en_quake.txt", "fr-1"]
    a = local.search("earthquake", 5, article_ids=only, mode="dense")
    assert [h.article_id for h in a.results] == [h.article_id for h in remote.search("earthquake", 5, article_ids=only,
                                                                                       mode="dense").results]  # fmt: skip
    assert {h.article_id for h in a.results} == set(only)


def test_filtered_search_runs_inside_milvus(exported: tuple[Settings, str]) -> None:
    settings, store = exported
    index = open_index(settings.index_dir)
    vectors = open_vector_store(store, index)
    query = HashEmbedder().encode_queries(["earthquake"])
    # no id list is sent: the filter on the collection's own fields selects the French article's rows
    scores, ids = vectors.search(query, 50, None, Filter(langs=("fr",)))
    found = ids[0][ids[0] >= 0]
    numbers = index.store.article_numbers(["fr-1"])
    assert len(found) and set(index.rows.articles[index.rows.positions(np.sort(found))]) == {numbers["fr-1"]}
    assert np.all(np.diff(scores[0][: len(found)]) <= 1e-6)  # best first


def test_a_collection_of_another_model_dimension_or_version_is_refused(
    exported: tuple[Settings, str], tmp_path: Path
) -> None:
    settings, store = exported
    other = Settings(home=tmp_path / "home2", index_dir=tmp_path / "other")  # its own embedding cache
    build_index([write_corpus(tmp_path / "c2")], other, embedder=HashEmbedder(dimension=32))
    with pytest.raises(IndexMismatchError, match=r"64-dimensional vectors of test/hash-embedder.*export into another"):
        export_to_milvus(other.index_dir, store)
    with pytest.raises(IndexMismatchError, match="64-dimensional"):
        SearchEngine(open_index(other.index_dir), HashEmbedder(dimension=32), store=store)
    export_to_milvus(other.index_dir, lite(tmp_path, "other"))  # another collection is fine
    retrained = Settings(home=tmp_path / "home3", index_dir=tmp_path / "retrained")
    build_index([write_corpus(tmp_path / "c3")], retrained, embedder=OtherWeights())
    with pytest.raises(IndexMismatchError, match=r"\(weights hash-v1\).*\(weights hash-v2\)"):
        export_to_milvus(retrained.index_dir, store)
    # a rebuild makes a new index version: the collection must be exported again
    (tmp_path / "corpus" / "late.txt").write_text("Late news\n\nA late article arrived.", encoding="utf-8")
    build_index([tmp_path / "corpus"], settings, embedder=HashEmbedder())
    with pytest.raises(IndexMismatchError, match=r"run `semsearch export --to .* again"):
        SearchEngine(open_index(settings.index_dir), HashEmbedder(), store=store)
    export_to_milvus(settings.index_dir, store)  # the same collection name, now pointing at the new vectors
    engine = SearchEngine(open_index(settings.index_dir), HashEmbedder(), store=store)
    assert engine.search("late article", 1, mode="dense").results[0].article_id == "late.txt"
    with pytest.raises(IndexNotFoundError, match="No collection 'missing'"):
        SearchEngine(open_index(settings.index_dir), HashEmbedder(), store=lite(tmp_path, "missing"))


def test_an_unreachable_milvus_is_named_within_the_timeout(tiny_index: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(SemsearchError, match=f"Milvus at milvus://127.0.0.1:{port}/news did not answer"):
        export_to_milvus(tiny_index.index_dir, f"milvus://127.0.0.1:{port}/news")
    assert time.monotonic() - started < 15


def test_the_http_api_serves_from_milvus_and_refuses_writes(exported: tuple[Settings, str]) -> None:
    settings, store = exported
    engine = SearchEngine(open_index(settings.index_dir), HashEmbedder(), store=store)
    client = TestClient(create_app(ServedIndex(engine, settings.index_dir), api_key="key"))
    got = client.get("/query", params={"q": "earthquake rescue", "k": 3, "lang": "en"})
    assert got.status_code == 200 and got.json()["results"][0]["article_id"] == "en_quake.txt"
    written = client.post("/articles", json={"articles": [{"id": "n", "text": "New text."}]},
                          headers={"X-API-Key": "key"})  # fmt: skip
    assert written.status_code == 400 and "semsearch export" in written.json()["error"]["message"]


def test_stats_report_the_milvus_index_served(tiny_index: Settings, tmp_path: Path) -> None:
    """Issue 19.12: /stats names the vector index searched (Milvus HNSW here), not the local FAISS spec (Flat)."""
    store = lite(tmp_path)
    export_to_milvus(tiny_index.index_dir, store, index_type="HNSW16")
    engine = SearchEngine(open_index(tiny_index.index_dir), HashEmbedder(), store=store)
    stats = TestClient(create_app(ServedIndex(engine, tiny_index.index_dir))).get("/stats").json()
    assert stats["vector_store"] == "milvus" and stats["index_spec"] == "HNSW16 (Milvus HNSW)"
    local = TestClient(create_app(SearchEngine(open_index(tiny_index.index_dir), HashEmbedder()))).get("/stats")
    assert local.json()["vector_store"] == "faiss" and local.json()["index_spec"] == "Flat"


@pytest.mark.slow
def test_milvus_hnsw_gives_the_exact_top10_for_most_dev_queries(
    seeds_index: Settings, real_embedder: Embedder, tmp_path: Path
) -> None:
    store = lite(tmp_path)
    exported = CliRunner().invoke(
        cli_app, ["export", "--to", store, "--index", str(seeds_index.index_dir), "--index-type", "HNSW32", "--json"]
    )
    assert exported.exit_code == 0, exported.output
    report = json.loads(exported.stdout)
    assert report["index_type"] == "HNSW" and report["tuning"]["parameter"] == "ef"
    assert report["tuning"]["recall_heldout"] >= 0.95
    exact = SearchEngine(open_index(seeds_index.index_dir), real_embedder)  # the seeds index is Flat: exact
    assert exact.index.manifest.index_spec == "Flat"
    milvus = SearchEngine(open_index(seeds_index.index_dir), real_embedder, store=store)
    queries = [j.text for j in load_judgements(ROOT / "benchmarks" / "dev_eval" / "seeds.jsonl")]
    a = exact.search_many(queries, 10, mode="dense", group="articles", snippets=False)
    b = milvus.search_many(queries, 10, mode="dense", group="articles", snippets=False)
    same = [{h.article_id for h in x.results} == {h.article_id for h in y.results} for x, y in zip(a, b)]
    assert len(queries) == 133 and sum(same) / len(same) >= 0.95
    # IVF with 8-bit codes: candidates re-ranked with the exact local vectors
    ivf = lite(tmp_path, "ivf")
    assert export_to_milvus(seeds_index.index_dir, ivf, index_type="IVF,SQ8").index_type == "IVF_SQ8"
    c = SearchEngine(open_index(seeds_index.index_dir), real_embedder, store=ivf).search_many(
        queries, 10, mode="dense", group="articles", snippets=False
    )
    same = [{h.article_id for h in x.results} == {h.article_id for h in y.results} for x, y in zip(a, c)]
    assert sum(same) / len(same) >= 0.95
    # the CLI's --store: the same hybrid answer as the local index for a cross-lingual query
    args = ["query", "Russia Iran treaty", "--json", "--index", str(seeds_index.index_dir), "-k", "3"]
    local, remote = CliRunner().invoke(cli_app, args), CliRunner().invoke(cli_app, [*args, "--store", store])
    assert remote.exit_code == 0, remote.output
    ids = [[h["article_id"] for h in json.loads(r.stdout)["results"]] for r in (local, remote)]
    assert ids[0] == ids[1] and len(ids[0]) == 3


@pytest.mark.slow
def test_semsearch_serve_with_a_milvus_store_answers_over_http(seeds_index: Settings, tmp_path: Path) -> None:
    import subprocess
    import sys

    import httpx

    semsearch = str(Path(sys.executable).parent / "semsearch")
    store = lite(tmp_path)
    exported = subprocess.run([semsearch, "export", "--to", store, "--index", str(seeds_index.index_dir)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([semsearch, "serve", "--index", str(seeds_index.index_dir), "--store", store,
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                got = httpx.get(
                    f"http://127.0.0.1:{port}/query", params={"q": "Russia Iran treaty", "k": 3}, timeout=30
                )
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.5)
        assert got.status_code == 200
        results = got.json()["results"]
        assert len(results) == 3 and results[0]["lang"] == "ar"  # the Arabic seed article answers, as locally
    finally:
        server.terminate()
        server.wait(30)


def test_a_stale_store_is_refused_before_the_model_loads(
    exported: tuple[Settings, str], corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19.6: a no-op rebuild made a Milvus export stale, and a server with --store refused only after
    ~50 s of loading the model; a no-op rebuild now keeps the version, and a stale store is refused first."""
    import search.engine

    settings, store = exported
    loads: list[object] = []
    monkeypatch.setattr(search.engine, "load_embedder", lambda *a, **k: loads.append(a) or HashEmbedder())
    assert not build_index([corpus], settings, embedder=HashEmbedder()).published
    with_store = settings.with_overrides(store=store)
    assert SearchEngine.open(with_store).search("earthquake", k=1).results and len(loads) == 1
    (corpus / "new.txt").write_text("New\n\nA new story about a lighthouse.", encoding="utf-8")
    assert build_index([corpus], settings, embedder=HashEmbedder()).published
    with pytest.raises(IndexMismatchError, match="export"):
        SearchEngine.open(with_store)
    assert len(loads) == 1


class FlakyClient:
    """A real Milvus client that records whether each collection is loaded and fails the first ``failures``
    flushes with a MilvusException, as a loaded Milvus Lite did under load."""

    def __init__(self, inner: object, failures: int = 0) -> None:
        self._inner, self.failures = inner, failures
        self.loaded: dict[str, bool] = {}
        self.flushed_while_loaded: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def create_collection(self, name: str, **kwargs: object) -> None:
        self._inner.create_collection(name, **kwargs)  # type: ignore[attr-defined]
        self.loaded[name] = True  # with index parameters, a new collection comes loaded

    def load_collection(self, name: str, **kwargs: object) -> None:
        self._inner.load_collection(name, **kwargs)  # type: ignore[attr-defined]
        self.loaded[name] = True

    def release_collection(self, name: str, **kwargs: object) -> None:
        self._inner.release_collection(name, **kwargs)  # type: ignore[attr-defined]
        self.loaded[name] = False

    def flush(self, name: str, **kwargs: object) -> None:
        from pymilvus.exceptions import MilvusException

        if self.loaded.get(name):
            self.flushed_while_loaded.append(name)
        if self.failures:
            self.failures -= 1
            raise MilvusException(message="Failed to read all data for array. (file seems not fully written?)")
        self._inner.flush(name, **kwargs)  # type: ignore[attr-defined]


def _flaky(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[FlakyClient]:
    import index.storage.vector_store

    made: list[FlakyClient] = []

    def connect(location: object) -> FlakyClient:
        from index.vectors.milvus_store import connect as real

        made.append(FlakyClient(real(location), failures))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(index.storage.vector_store, "connect", connect)
    monkeypatch.setattr(index.storage.vector_store.time, "sleep", lambda s: None)
    return made


def test_an_export_flushes_released_collections_and_retries_a_milvus_failure(
    tiny_index: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19.2: Milvus Lite indexes a loaded collection in the background after a flush, and a load meanwhile
    read a half-written file; an export flushes only released collections, and a failure is tried again."""
    made = _flaky(monkeypatch, failures=1)
    store = lite(tmp_path)
    report = export_to_milvus(tiny_index.index_dir, store, index_type="HNSW16")
    client = made[0]
    assert client.failures == 0 and client.flushed_while_loaded == []
    assert [c for c in client.list_collections() if c.startswith("news__")] == [report.collection]  # first dropped
    engine = SearchEngine(open_index(tiny_index.index_dir), HashEmbedder(), store=store)
    assert engine.search("earthquake rescue", 1, mode="dense").results[0].article_id == "en_quake.txt"


def test_an_export_that_keeps_failing_is_one_error_line_and_changes_nothing(
    exported: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19.2: a Milvus failure that persists is one `error:` line (no MilvusException traceback), and the
    collection name still points at the earlier export."""
    settings, store = exported
    made = _flaky(monkeypatch, failures=99)
    result = CliRunner().invoke(cli_app, ["export", "--to", store, "--index", str(settings.index_dir)])
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert err.startswith("error: Milvus at ") and "failed the export 3 times" in err and "not fully written" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert len([c for c in made[0].list_collections() if c.startswith("news__")]) == 1  # the earlier one only
    engine = SearchEngine(open_index(settings.index_dir), HashEmbedder(), store=store)
    assert engine.search("earthquake rescue", 1, mode="dense").results[0].article_id == "en_quake.txt"
