"""Smoke test: each benchmark runs end to end on a tiny input, so the scripts cannot rot."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_build_benchmark_runs_on_a_tiny_corpus(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "build.jsonl"
    result = load("bench_build").main([str(corpus), "--repeat", "1", "--out", str(out)])
    assert result["articles"] == 7 and result["vectors"] > 7
    assert 0 < result["build_over_bare_rate"] < 5
    line = json.loads(out.read_text().splitlines()[-1])
    assert line["git_sha"] and line["cpu"] and line["model"] == "intfloat/multilingual-e5-small"
