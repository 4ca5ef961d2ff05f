"""What every benchmark shares: where it runs from, and the one JSON-lines record it appends per result.

Each line of ``benchmarks/results/<bench>.jsonl`` has the same keys, whatever the benchmark:

    {"bench", "time", "git_sha", "machine", "model", "settings", "figures"}

``machine`` is the host, CPU, cores and Python; ``model`` what encoded (name, source, backend) or ``null``
for benchmarks without a model; ``settings`` how the run was set up (its arguments, the index type...);
``figures`` what it measured. A script imports this module before ``index`` and ``search`` so that it
measures this checkout: importing it puts the checkout first on ``sys.path`` (scripts run as
``python benchmarks/bench_x.py`` have only ``benchmarks/`` there), and the ``--plumbing`` children of
``bench_faults.py`` find the tests' embedder the same way.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SEEDS = ROOT / "seeds"
KEYS = ("bench", "time", "git_sha", "machine", "model", "settings", "figures")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def git_sha() -> str:
    """The checkout's short commit id ("unknown" outside git)."""
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def cpu_name() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {"host": platform.node(), "cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()}


def model_of(model: Any) -> dict[str, Any] | None:
    """The ``model`` field: an embedder's name, source and backend, a bare name, or None."""
    if model is None:
        return None
    if isinstance(model, str):
        return {"name": model}
    # the tests' plumbing embedder (bench_faults.py --plumbing) runs no backend of its own
    return {"name": model.name, "source": model.source, "backend": getattr(model, "backend", None)}


def record(bench: str, figures: Mapping[str, Any], *, model: Any = None,
           settings: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """One result as its JSON line's object (the schema above)."""
    return {
        "bench": bench,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_sha": git_sha(),
        "machine": machine(),
        "model": model_of(model),
        "settings": dict(settings or {}),
        "figures": dict(figures),
    }


def append_results(bench: str, rows: Sequence[Mapping[str, Any]], *, model: Any = None,
                   settings: Mapping[str, Any] | None = None, out: Path | None = None) -> Path:  # fmt: skip
    """Append one line per row of figures to ``out`` (default ``benchmarks/results/<bench>.jsonl``); returns it."""
    path = out or RESULTS / f"{bench}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(record(bench, row, model=model, settings=settings), ensure_ascii=False, default=str)
             for row in rows]  # fmt: skip
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
    return path
