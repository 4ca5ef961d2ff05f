"""The shape of ``index`` (issue 13): imports point one way between its stages, and its functions stay short and
return no tuple of more than two values."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

INDEX = ROOT / "index"
# The stages of ``index`` from the bottom up. A module imports the root modules (errors, settings, models, ...) and
# the stages below its own, never one beside or above it; the root modules import no stage. ``index/__init__.py``,
# the public API, is the one exception: it names every stage (resolved lazily).
_LAYERS = (("ingest", "embedding", "vectors"), ("storage",), ("build",))
_RANK = {stage: rank for rank, stages in enumerate(_LAYERS, start=1) for stage in stages}
_MAX_LINES = 60
_MAX_TUPLE = 2


def _stage(module: str) -> str | None:
    """The stage a dotted ``index`` module belongs to; None for a root module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (INDEX / parts[1]).is_dir()) else None


def _imported(source: str, path: str) -> set[str]:
    """Every ``index`` module (or package) the module at ``path`` imports, relative imports resolved, at any depth."""
    parts = path.removesuffix(".py").split("/")
    package = parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            found.update([base] if node.module else [f"{base}.{alias.name}" for alias in node.names])
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("index.")}


def _upward(source: str, path: str) -> list[str]:
    """The imports of the module at ``path`` (``index/...py``) that point beside or above its own stage."""
    own = _stage(path.removesuffix(".py").replace("/", "."))
    rank = _RANK[own] if own else 0
    return [
        f"{path} imports {target}"
        for target in sorted(_imported(source, path))
        if (stage := _stage(target)) is not None and stage != own and _RANK[stage] >= rank
    ]


def test_imports_between_the_stages_of_index_point_one_way() -> None:
    """Issue 13: root modules <- ingest, embedding, vectors <- storage <- build; never the other way."""
    assert set(_RANK) == {p.name for p in INDEX.iterdir() if (p / "__init__.py").is_file()}, "a stage without a layer"
    modules = [p for p in INDEX.rglob("*.py") if p != INDEX / "__init__.py"]
    assert [line for p in modules for line in _upward(p.read_text(), p.relative_to(ROOT).as_posix())] == []


def test_the_layering_check_sees_an_upward_import() -> None:
    """The check above can fail: a stage importing one beside or above it, relatively or not, is reported."""
    source = "from ..storage.store import Store\nfrom ..settings import Settings\nimport index.build.plan\n"
    assert _upward(source, "index/ingest/walk.py") == [
        "index/ingest/walk.py imports index.build.plan",
        "index/ingest/walk.py imports index.storage.store",
    ]
    assert _upward("from ..vectors import tune\n", "index/embedding/cache.py") == [
        "index/embedding/cache.py imports index.vectors"
    ]
    assert _upward("from .ingest.formats import ReadOptions\n", "index/settings.py") == [
        "index/settings.py imports index.ingest.formats"
    ]
    assert _upward("from . import formats\nfrom ..vectors import tune\n", "index/storage/__init__.py") == []


def _over_limits(source: str, where: str) -> list[str]:
    """Functions over _MAX_LINES lines, and returns of (or annotated as) a tuple of more than _MAX_TUPLE values."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > _MAX_LINES:
                found.append(f"{where}:{node.lineno} {node.name} is {lines} lines")
            returns = node.returns
            if (
                isinstance(returns, ast.Subscript)
                and isinstance(returns.value, ast.Name)
                and returns.value.id == "tuple"
                and isinstance(returns.slice, ast.Tuple)
                and len(returns.slice.elts) > _MAX_TUPLE
            ):
                found.append(f"{where}:{node.lineno} {node.name} is annotated to return {ast.unparse(returns)}")
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) > _MAX_TUPLE:
            found.append(f"{where}:{node.lineno} returns a tuple of {len(node.value.elts)}")
    return found


def test_no_function_of_index_is_over_60_lines_or_returns_a_tuple_of_more_than_two() -> None:
    """Issue 13 ("done when"): the build path (all of ``index``) in short functions with named results."""
    found = [
        line for p in sorted(INDEX.rglob("*.py")) for line in _over_limits(p.read_text(), str(p.relative_to(ROOT)))
    ]
    assert found == []


def test_the_size_check_sees_a_long_function_and_a_wide_tuple() -> None:
    long = "def f():\n" + "    x = 1\n" * _MAX_LINES
    wide = "def g() -> tuple[int, int, int]:\n    return 1, 2, 3\n"
    fine = "def h() -> tuple[int, ...]:\n    return (1, 2)\n" + "def k():\n" + "    x = 1\n" * (_MAX_LINES - 1)
    assert _over_limits(long, "m") == ["m:1 f is 61 lines"]
    assert _over_limits(wide, "m") == [
        "m:1 g is annotated to return tuple[int, int, int]",
        "m:2 returns a tuple of 3",
    ]
    assert _over_limits(fine, "m") == []
