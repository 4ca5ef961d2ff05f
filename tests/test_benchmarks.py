"""Smoke tests: each benchmark runs end to end on a tiny input, so the scripts cannot rot."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from index import Settings
from tests import conftest
from tests.conftest import REQUIRE_SHARED, ROOT, shared_path


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_writes_one_schema_through_the_shared_helper(tmp_path: Path) -> None:
    """Issue 13.8: one helper module stamps every JSON line the same way (time, git SHA, machine, model,
    settings, figures); no script edits sys.path, imports a sibling script, or writes result lines itself."""
    common = load("common")
    out = common.append_results("demo", [{"p50_ms": 1.5}, {"p50_ms": 2.5}], model=conftest.HashEmbedder(),
                                settings={"k": 10}, out=tmp_path / "demo.jsonl")  # fmt: skip
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [tuple(line) for line in lines] == [common.KEYS] * 2
    assert [line["figures"] for line in lines] == [{"p50_ms": 1.5}, {"p50_ms": 2.5}]
    first = lines[0]
    assert first["bench"] == "demo" and first["settings"] == {"k": 10} and first["git_sha"]
    assert first["model"] == {"name": "test/hash-embedder", "source": "index/embedding/testing.py", "backend": "hash"}
    assert set(first["machine"]) == {"host", "cpu", "cores", "python"} and first["time"].endswith("+00:00")
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        if script.name == "common.py":
            continue
        text = script.read_text(encoding="utf-8")
        assert "sys.path" not in text, script.name
        assert not re.search(r"^\s*(from|import)\s+bench_", text, re.MULTILINE), script.name
        assert '.open("a"' not in text, f"{script.name} appends results itself"


@pytest.mark.slow
def test_build_benchmark_runs_on_a_tiny_corpus(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "build.jsonl"
    result = load("bench_build").main([str(corpus), "--repeat", "1", "--out", str(out), "--rebuild-fraction", "0.2"])
    assert result["articles"] == 7 and result["vectors"] > 7
    assert 0 < result["build_over_bare_rate"] < 5
    assert result["rebuild_changed_articles"] >= 1 and result["rebuild_vectors_encoded"] > 0
    line = json.loads(out.read_text().splitlines()[-1])
    assert line["git_sha"] and line["machine"]["cpu"] and line["model"]["name"] == "intfloat/multilingual-e5-small"
    assert line["figures"] == result and line["settings"]["repeat"] == 1


@pytest.mark.slow
def test_index_benchmark_runs_on_a_tiny_size(seeds_index: Settings, tmp_path: Path) -> None:
    out = tmp_path / "index.jsonl"
    rows = load("bench_index").main(
        ["--sizes", "3000", "--types", "Flat,HNSW16,IVF,SQ8", "--queries", "20", "--fit-from", str(seeds_index.index_dir),
         "--out", str(out)]
    )  # fmt: skip
    assert [r["spec"] for r in rows] == ["Flat", "HNSW16", "IVF64,SQ8"]
    assert rows[0]["recall_fresh_queries"] == 1.0 and all(r["p50_ms"] > 0 for r in rows)
    assert len(out.read_text().splitlines()) == 3


@pytest.mark.slow
def test_query_benchmark_runs_on_a_tiny_index(seeds_index: Settings, tmp_path: Path) -> None:
    out = tmp_path / "query.jsonl"
    result = load("bench_query").main(
        ["--vectors", "2000", "--queries", "5", "--fit-from", str(seeds_index.index_dir), "--out", str(out)]
    )
    assert result["vectors"] >= 1500 and result["http_p50_ms"] > 0 and result["bare_p50_ms"] > 0


@pytest.mark.slow
def test_distributed_benchmark_runs_on_a_tiny_corpus(corpus: Path) -> None:
    result = load("bench_distributed").main([str(corpus), "--repeat", "1", "--milvus-specs", "HNSW16;Flat"])
    build = result["build"]
    assert build["vectors"] > 7 and build["ray_s"] > build["ray_phase_s"] > 0 and build["encode_ms_per_vector"] > 0
    assert [m["milvus_index"] for m in result["milvus"]] == ["HNSW", "FLAT"]
    assert result["milvus"][1]["same_top10"] == 1.0 and result["milvus"][0]["milvus_p50_ms"] > 0


def test_mixture_shapes_vectors_like_real_embeddings() -> None:
    import numpy as np

    synthetic = load("synthetic")
    rng = np.random.default_rng(0)
    real = rng.standard_normal((400, 16)) + 3.0  # anisotropic: all vectors share a direction
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    sample = synthetic.Mixture.fit(real.astype(np.float32), clusters=8).sample(400, seed=1)
    assert np.allclose(np.linalg.norm(sample, axis=1), 1.0, atol=1e-5)
    real_cos = (real @ real.T)[np.triu_indices(400, 1)].mean()
    fake_cos = (sample @ sample.T)[np.triu_indices(400, 1)].mean()
    assert abs(real_cos - fake_cos) < 0.1


# NTREX-128 lives in ../shared: without it these skip, naming it (in CI, which has it, they must run)
needs_ntrex = pytest.mark.usefixtures("ntrex")


@pytest.mark.slow  # seconds: a whole benchmark run, starting Ray, or extracting NTREX pages
@needs_ntrex
def test_ingest_benchmark_runs_on_a_few_articles() -> None:
    rows = load("bench_ingest").main(["--repeat", "1", "--limit", "40"])
    assert [r["input"] for r in rows] == ["HTML pages", "JSONL", "JSONL with lang"]
    assert all(r["articles"] == 40 and r["per_second"] > 0 for r in rows)


@needs_ntrex
@pytest.mark.slow  # ~7 s: reads and republishes NTREX
def test_duplicates_benchmark_finds_its_copies() -> None:
    row = load("bench_duplicates").main(["--copies", "30"])
    assert row["copies"] == 30 and row["precision"] >= 0.98 and row["recall"] >= 0.9


@pytest.mark.slow
def test_stories_benchmark_runs_on_the_seeds(seeds_index: Settings) -> None:
    rows = load("bench_stories").main(["--index", str(seeds_index.index_dir), "--thresholds", "0.76"])
    assert rows[0]["precision"] >= 0.95 and rows[0]["recall"] >= 0.9


@needs_ntrex
@pytest.mark.slow
def test_language_bias_benchmark_runs_on_a_tiny_pool() -> None:
    rows = load("bench_language_neutral").main(["--docs", "3"])
    assert rows[0]["variant"] == "bare model" and all(0 <= r["cross_top10"] <= 1 for r in rows)


def test_language_map_benchmark_runs_on_a_tiny_size(tmp_path: Path) -> None:
    rows = load("bench_language_map").main(["--vectors", "800", "--queries", "2", "--dim", "32",
                                            "--out", str(tmp_path / "map.jsonl")])  # fmt: skip
    assert [r["method"] for r in rows] == ["off", "centring", "leace"]
    assert all(r["scan_1000_p50_ms"] > 0 and r["per_language_candidates_p50_ms"] > 0 for r in rows)


def test_crosslingual_ranks_match_brute_force() -> None:
    """The alone / one-language-index / mixed-pool ranks against a loop over the pool they are defined on."""
    bench = load("bench_crosslingual")
    n, langs = 6, 3
    scores = np.random.default_rng(1).standard_normal((n * langs, n * langs))
    alone, single, mixed = bench.ranks(bench._static(scores), langs)
    for d in range(n):
        for q in range(langs):
            row = scores[d * langs + q]
            for lang in range(langs):
                target = row[d * langs + lang]
                pool = [j for j in range(n * langs) if not (j // langs == d and j % langs != lang)]
                assert alone[d, q, lang] == 1 + sum(row[j] > target for j in pool)
                assert single[d, q, lang] == 1 + sum(row[j] > target for j in range(lang, n * langs, langs))
                assert mixed[d, q, lang] == 1 + int((row > target).sum())


@needs_ntrex
@pytest.mark.slow
def test_crosslingual_benchmark_runs_on_a_tiny_pool(tmp_path: Path) -> None:
    rows = load("bench_crosslingual").main(
        ["--docs", "4", "--langs", "en,ar,zh", "--fit-docs", "1", "--cache", str(tmp_path)]
    )
    today = next(r for r in rows if r["variant"] == "centred 0.25 (today)")
    assert today["single_pairs_lower"] == 0 and all(0 <= r["alone_r10"] <= 1 for r in rows)
    assert len(list(tmp_path.glob("*.npy"))) == 5  # the vectors are cached for the next run


@pytest.mark.slow
def test_load_benchmark_under_a_rebuild(seeds_index: Settings) -> None:
    """The issue's load test: 1,000 queries from 16 clients while a rebuild swaps the index underneath."""
    result = load("bench_load").main(
        [
            "--index",
            str(seeds_index.index_dir),
            "--sources",
            str(ROOT / "seeds"),
            "--queries",
            "1000",
            "--clients",
            "16",
        ]
    )
    for row in result.values():
        assert row["errors"] == 0 and row["answered_by_unpublished_version"] == 0
        assert row["new_version_answered"] > 0 and len(row["versions"]) == 2
    assert result["batched"]["qps"] > result["plain"]["qps"]


@needs_ntrex
@pytest.mark.slow
def test_encode_benchmark_runs_on_one_document() -> None:
    result = load("bench_encode").main(["--documents", "1", "--repeat", "1", "--queries", "8"])
    assert result["articles"] == 14 and result["vectors"] > result["articles"]
    assert result["cosine_int8_fp32_mean"] > 0.99
    for name in ("torch-fp32", "onnx-int8"):
        assert result[name]["rebuild_vectors_encoded"] == 0 and result[name]["query_p50_ms"] > 0


@pytest.mark.slow  # ~17 s: kill -9 trials start fresh processes
def test_faults_benchmark_runs_on_a_tiny_corpus(corpus: Path, tmp_path: Path) -> None:
    """Issue 18, "Done when": the fault trials that held (kill -9 during a build and during writes, damage to
    every file) rerun by benchmarks/bench_faults.py; here tiny, with the plumbing embedder."""
    out = tmp_path / "faults.jsonl"
    result = load("bench_faults").main([str(corpus), "--kill-points", "2", "--write-trials", "1", "--plumbing",
                                        "--kinds", "truncated", "--out", str(out)])  # fmt: skip
    assert result["kill_build"]["trials"] == 2 and result["kill_build"]["half"] == 0
    assert result["kill_build"]["leftovers_after_next_build"] == 0
    assert result["kill_write"]["trials"] == 1 and result["kill_write"]["half"] == 0
    corrupt = result["corrupt_file"]
    assert corrupt["trials"] >= 15 and corrupt["errors"] == corrupt["crashes"] == 0
    assert corrupt["refused_on_open"] == corrupt["named_by_check"] == corrupt["trials"]  # sizes are always checked
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["figures"]["trial"] for line in lines] == ["kill_build", "kill_write", "corrupt_file"]
    assert all(tuple(line) == load("common").KEYS and line["bench"] == "faults" for line in lines)
    assert lines[0]["model"]["name"] == "test/hash-embedder" and lines[0]["settings"]["plumbing"] is True


def test_what_needs_shared_skips_without_it_and_fails_where_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 19.1: on a clone alone the tests that need ../shared skip naming it; CI (.ci/run) requires them."""
    monkeypatch.setattr(conftest, "SHARED", tmp_path / "absent")
    monkeypatch.delenv(REQUIRE_SHARED, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"\.\./shared/corpus-ntrex is not beside this checkout"):
        shared_path("corpus-ntrex")
    monkeypatch.setenv(REQUIRE_SHARED, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_SHARED}=1 requires it"):
        shared_path("corpus-ntrex")
    (tmp_path / "absent" / "corpus-ntrex").mkdir(parents=True)
    assert shared_path("corpus-ntrex") == tmp_path / "absent" / "corpus-ntrex"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"export {REQUIRE_SHARED}=1" in ci  # so no test that needs ../shared is skipped in CI


@pytest.mark.slow
def test_cold_query_benchmark_runs_on_a_tiny_input(seeds_index: Settings, tmp_path: Path) -> None:
    judged = tmp_path / "judged.jsonl"
    lines = (ROOT / "benchmarks" / "dev_eval" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
    judged.write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    rows = load("bench_cold_query").main(
        ["--index", str(seeds_index.index_dir), "--repeat", "1", "--large-vectors", "400", "--url-queries", "3",
         "--judgements", str(judged)]
    )  # fmt: skip
    cases = {r["case"]: r for r in rows}
    assert {"semsearch --help", "query lexical (seeds)", "query hybrid (synthetic 400)"} <= set(cases)
    assert all(r["wall_s"] > 0 for r in rows if "wall_s" in r)
    assert cases["query --url round trip"]["p50_ms"] > 0
    assert cases["query encoders"]["cosine_min"] >= 0.9999


@pytest.mark.slow
def test_rebuild_benchmark_runs_on_a_tiny_corpus(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "rebuild.jsonl"
    result = load("bench_rebuild").main([str(corpus), "--repeat", "1", "--out", str(out)])
    assert 0 < result["after"] < result["after_first_build_s"]  # decided from the fingerprint: no model loaded
    assert json.loads(out.read_text().splitlines()[-1])["figures"] == result


@pytest.mark.slow  # loads the real tokenizer (and model) in a child process per size
def test_updates_benchmark_builds_and_compares_stories(seeds_index: Settings, ntrex: Path, tmp_path: Path) -> None:
    fit = ["--fit-index", str(seeds_index.index_dir), "--ntrex", str(ntrex), "--out", str(tmp_path / "u.jsonl")]
    rows = load("bench_updates").main(["--build-only", "--sizes", "400", *fit])
    assert len(rows) == 1 and rows[0]["articles"] == 51 and rows[0]["indexed"] == 50  # one in 50 is a copy
    assert rows[0]["peak_rss_mb"] > rows[0]["rss_before_mb"] > 0 and rows[0]["non_encoding_seconds"] > 0
    stories = load("bench_updates").main(["--stories", "--sizes", "1500", "--index", str(seeds_index.index_dir), *fit])
    assert [r["corpus"] for r in stories] == ["index", "planted 1500"]
    assert all(r["exact_pairs"] > 0 and r["precision"] >= 0.99 and r["recall"] >= 0.99 for r in stories)
