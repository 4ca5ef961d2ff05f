"""The public API is what __all__ says, documented; the layering and lazy imports hold."""

from __future__ import annotations

import re
import subprocess
import sys

import index
import search
from tests.conftest import ROOT


def test_all_names_exist_and_are_documented() -> None:
    for package in (index, search):
        for name in package.__all__:
            obj = getattr(package, name)
            assert (obj.__doc__ or "").strip(), f"{package.__name__}.{name} has no docstring"
        public = {n for n in dir(package) if not n.startswith("_")}
        modules = {n for n in public if type(getattr(package, n)).__name__ == "module"}
        assert public - modules == set(package.__all__), f"{package.__name__}: __all__ is out of date"


def test_index_never_imports_search() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+search\b", re.MULTILINE)
    offenders = [p.name for p in (ROOT / "index").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_core_never_imports_the_edges() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+(typer|fastapi|uvicorn)\b", re.MULTILINE)
    core = [*(ROOT / "index").rglob("*.py"), ROOT / "search" / "engine.py", ROOT / "search" / "results.py"]
    assert [p.name for p in core if pattern.search(p.read_text())] == []


def test_cli_start_up_imports_no_heavy_library() -> None:
    code = (
        "import sys, search.cli; "
        "print(sorted(m for m in ('torch', 'faiss', 'sentence_transformers', 'fastapi', 'lingua') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
