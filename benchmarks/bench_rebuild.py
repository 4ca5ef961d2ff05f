"""A rebuild with nothing changed: `semsearch build` run again on the same sources, each time in a fresh process
(wall seconds, medians), as a user re-running a build script or a cron job meets it.

With --before TREE, the same rebuild by another checkout (say, an older commit in a git worktree) runs
alternately with this one, each on its own copy of the index, so the two are measured side by side.

    python benchmarks/bench_rebuild.py                              # the shipped seeds/
    python benchmarks/bench_rebuild.py --before ../old --repeat 5   # against another checkout
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SEEDS, append_results

_MAIN = "import sys; from search.cli import main; sys.argv[0] = 'semsearch'; main()"


def rebuild(tree: Path, sources: list[Path], index: Path) -> float:
    """Wall seconds of one `semsearch build` of ``sources`` into ``index`` by the checkout at ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MAIN, "build", *map(str, sources), "--index", str(index), "-q"],
                          cwd=tree, env=env, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"build by {tree} failed: {done.stderr.strip()}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="*", type=Path, default=[SEEDS])
    parser.add_argument("--repeat", type=int, default=5, help="rebuilds by each checkout (medians are reported)")
    parser.add_argument("--before", type=Path, default=None, help="another checkout, measured alternately")
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file [benchmarks/results/rebuild.jsonl]")
    args = parser.parse_args(argv)
    sources = [p.resolve() for p in args.corpus]
    trees = {"after": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    workdir = Path(tempfile.mkdtemp(prefix="semsearch-bench-"))
    try:
        first = {name: rebuild(tree, sources, workdir / name) for name, tree in trees.items()}  # the builds
        times: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.repeat):
            for name, tree in trees.items():
                times[name].append(rebuild(tree, sources, workdir / name))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result: dict[str, object] = {name: round(statistics.median(t), 3) for name, t in times.items()}
    result |= {f"{name}_first_build_s": round(s, 3) for name, s in first.items()}
    if "before" in result:
        result["speedup"] = round(float(result["before"]) / max(1e-9, float(result["after"])), 1)  # type: ignore[arg-type]
    for name, t in times.items():
        print(
            f"{name:>7}: no-op rebuild {statistics.median(t):.2f} s median of {len(t)} (first build {first[name]:.1f} s)"
        )
    settings = {"corpus": [str(p) for p in args.corpus], "repeat": args.repeat, "before": str(args.before or "")}
    append_results("rebuild", [result], settings=settings, out=args.out)
    return result


if __name__ == "__main__":
    main()
