"""Fault trials (issue 18's trials that held, rerunnable): does the index survive a crash or a damaged file?

1. ``kill -9`` of ``semsearch build`` at N points spread over a rebuild (from process start through
   encoding, every file write and the swap): afterwards the index must open and answer, as the old
   version or the new one, never half; the next build must clean up what the killed one left.
2. ``kill -9`` of a server during ``POST /articles``: the index is old or new, never half.
3. Damage to every file of a version (truncated, one byte flipped, header overwritten, deleted): opening
   must refuse it in one line or answer; ``semsearch check`` must name every damaged file; a traceback or
   a crashed process is an error.

Prints a table and appends one JSON line per trial kind to benchmarks/results/faults.jsonl.

    python benchmarks/bench_faults.py                        # seeds/, the real model (~15 min on 2 cores)
    python benchmarks/bench_faults.py --kill-points 5 --write-trials 3 --plumbing   # a quick run

``--plumbing`` builds and queries with the tests' deterministic hashing embedder instead of the model:
the trials test storage, not retrieval, so the outcomes are the same, in seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, SEEDS, append_results

from index import SemsearchError, Settings, build_index, open_index
from index.storage.layout import LEASE_FILE
from index.storage.versions import CURRENT, check_index

KINDS = ("truncated", "flipped", "header", "deleted")
_MARK = "bench-faults-write"


def embedder_for(plumbing: bool, settings: Settings):  # type: ignore[no-untyped-def]
    """The embedder trials build and query with: the model, or the tests' hashing embedder."""
    if plumbing:
        from tests.conftest import HashEmbedder

        return HashEmbedder()
    from index import load_embedder

    return load_embedder(settings.model, settings.models_dir)


def _settings(index_dir: Path) -> Settings:
    return Settings.from_env().with_overrides(index_dir=index_dir, cache_bytes=0)  # encode, as an unlucky rebuild


def _child(argv: list[str]) -> None:
    """What a trial's child process runs: ``build INDEX CORPUS PLUMBING`` or ``serve INDEX PORT PLUMBING``."""
    kind, index_dir, arg, plumbing = argv[0], Path(argv[1]), argv[2], argv[3] == "1"
    settings = _settings(index_dir)
    if kind == "build":
        build_index([Path(arg)], settings, embedder=embedder_for(plumbing, settings))
        return
    import uvicorn

    from search import SearchEngine
    from search.api import create_app
    from search.serving import ServedIndex

    engine = SearchEngine(open_index(index_dir), embedder_for(plumbing, settings))
    app = create_app(ServedIndex(engine, index_dir, home=settings.home), api_key="k")
    uvicorn.run(app, host="127.0.0.1", port=int(arg), log_level="warning")


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, "--child", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip


def outcome(index_dir: Path, before: str, embedder: object) -> str:
    """ "old", "new" or "half": which version the index opens as, and whether it answers a query."""
    from search import SearchEngine

    try:
        index = open_index(index_dir)
        results = SearchEngine(index, embedder).search("news", k=3, group="articles").results  # type: ignore[arg-type]
        index.close()
    except Exception:
        return "half"
    if not results:
        return "half"
    return "old" if index.version == before else "new"


def _leftovers(index_dir: Path) -> int:
    return sum(1 for p in index_dir.iterdir() if p.name.startswith(".tmp-"))


def _change(corpus: Path, trial: int) -> None:
    """Change one article so that the next build has something to publish."""
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    path = files[trial % len(files)]
    path.write_text(path.read_text(encoding="utf-8") + f"\n\nUpdate {trial}: the story continued.", encoding="utf-8")


def kill_builds(index_dir: Path, corpus: Path, points: int, plumbing: bool, embedder: object) -> dict:
    """kill -9 of a rebuild at ``points`` moments spread over one whole rebuild's run."""
    counts = {"trials": 0, "old": 0, "new": 0, "half": 0, "errors": 0, "leftovers_after_next_build": 0}
    _change(corpus, 0)
    started = time.perf_counter()
    if _spawn("build", str(index_dir), str(corpus), "1" if plumbing else "0").wait() != 0:
        counts["errors"] += 1
    whole = time.perf_counter() - started
    for i in range(1, points + 1):
        before = open_index(index_dir).version
        _change(corpus, i)
        child = _spawn("build", str(index_dir), str(corpus), "1" if plumbing else "0")
        time.sleep(whole * i / (points + 1))
        child.send_signal(signal.SIGKILL)
        child.wait()
        counts["trials"] += 1
        counts[outcome(index_dir, before, embedder)] += 1
    build_index([corpus], _settings(index_dir), embedder=embedder)  # type: ignore[arg-type]
    counts["leftovers_after_next_build"] = _leftovers(index_dir)
    counts["rebuild_seconds"] = round(whole, 2)
    return counts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_writes(index_dir: Path, trials: int, plumbing: bool, embedder: object) -> dict:
    """kill -9 of a server while it applies ``POST /articles``, at moments spread over one write's run."""
    import httpx

    counts = {"trials": 0, "old": 0, "new": 0, "half": 0, "errors": 0}
    whole = None
    for i in range(trials + 1):
        port = _free_port()
        server = _spawn("serve", str(index_dir), str(port), "1" if plumbing else "0")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                counts["errors"] += 1
                server.kill()
                return counts
            time.sleep(0.2)
        before = open_index(index_dir).version
        body = {"articles": [{"id": f"{_MARK}-{i}", "title": f"Write {i}", "text": f"A written story number {i}."}]}

        def post(body: dict = body, url: str = url) -> None:
            try:
                httpx.post(f"{url}/articles", json=body, headers={"X-API-Key": "k"}, timeout=600)
            except httpx.HTTPError:
                pass  # the server was killed under it

        writer = threading.Thread(target=post)
        started = time.perf_counter()
        writer.start()
        if whole is None:  # the first write runs to the end: its duration spreads the kill moments
            writer.join()
            whole = time.perf_counter() - started
        else:
            time.sleep(whole * i / (trials + 1))
        server.send_signal(signal.SIGKILL)
        server.wait()
        writer.join()
        if i:
            counts["trials"] += 1
            counts[outcome(index_dir, before, embedder)] += 1
    counts["write_seconds"] = round(whole or 0.0, 2)
    return counts


def _corrupt(path: Path, kind: str) -> None:
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "flipped":
        at = len(data) // 2
        path.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :] if data else b"\x00")
    elif kind == "header":
        path.write_bytes(b"\xff" * min(32, len(data)) + data[32:])
    elif kind == "deleted":
        path.unlink()


def corrupt_one(index_dir: Path, name: str, kind: str, embedder: object) -> dict:
    """One damaged copy of the index: what opening, querying and `check` make of it."""
    from search import SearchEngine

    work = Path(tempfile.mkdtemp(prefix="semsearch-fault-"))
    try:
        copy = work / "index"
        shutil.copytree(index_dir, copy, symlinks=True)
        _corrupt((copy / CURRENT).resolve() / name, kind)
        row = {"file": name, "kind": kind, "refused": False, "answered": False, "check_named": False, "error": None}
        try:
            index = open_index(copy)
            try:
                engine = SearchEngine(index, embedder)  # type: ignore[arg-type]
                row["answered"] = bool(engine.search("news", k=3, group="articles").results)
            finally:
                index.close()
        except SemsearchError as exc:
            row["refused"] = "\n" not in str(exc)
        except Exception as exc:  # a traceback: what these trials exist to catch
            row["error"] = f"{type(exc).__name__}: {exc}"[:200]
        try:
            check_index(copy)
        except SemsearchError as exc:
            row["check_named"] = name in str(exc) or Path(name).name in str(exc)
        except Exception as exc:
            row["error"] = row["error"] or f"check: {type(exc).__name__}: {exc}"[:200]
        return row
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _trials(index_dir: Path, kinds: tuple[str, ...] = KINDS) -> list[tuple[str, str]]:
    folder = (index_dir / CURRENT).resolve()
    names = [
        p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LEASE_FILE
    ]
    return [(name, kind) for name in names for kind in kinds]


def _corrupt_from(index_dir: Path, start: int, plumbing: bool, kinds: tuple[str, ...]) -> None:
    """A child's loop: trials from ``start`` on, one JSON line each, flushed (a crash loses only its trial)."""
    embedder = embedder_for(plumbing, _settings(index_dir))
    for name, kind in _trials(index_dir, kinds)[start:]:
        print(json.dumps(corrupt_one(index_dir, name, kind, embedder)), flush=True)


def corrupt_files(index_dir: Path, plumbing: bool, kinds: tuple[str, ...] = KINDS) -> dict:
    """Every file of the current version × every kind of damage, in child processes (a crash counts)."""
    trials = _trials(index_dir, kinds)
    counts = {"trials": 0, "refused_on_open": 0, "answered": 0, "named_by_check": 0, "errors": 0, "crashes": 0}
    failures: list[dict] = []
    rows: list[dict] = []
    while len(rows) < len(trials):
        done = subprocess.run([sys.executable, __file__, "--child", "corrupt", str(index_dir), str(len(rows)),
                               "1" if plumbing else "0", ",".join(kinds)], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        rows += [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 and len(rows) < len(trials):  # the trial after the last line killed the process
            name, kind = trials[len(rows)]
            rows.append({"file": name, "kind": kind, "crash": done.returncode})
    for row in rows:
        counts["trials"] += 1
        if "crash" in row:
            counts["crashes"] += 1
            failures.append(row)
            continue
        counts["refused_on_open"] += row["refused"]
        counts["answered"] += row["answered"] and not row["refused"]
        counts["named_by_check"] += row["check_named"]
        if row["error"] or not (row["refused"] or row["answered"]):
            counts["errors"] += 1
            failures.append(row)
    counts["failures"] = failures[:10]
    return counts


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=SEEDS)
    parser.add_argument("--kill-points", type=int, default=19, help="kill -9 moments during a rebuild")
    parser.add_argument("--write-trials", type=int, default=8, help="kill -9 moments during POST /articles")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"damage to try on every file [{','.join(KINDS)}]")
    parser.add_argument("--plumbing", action="store_true", help="the tests' hashing embedder instead of the model")
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file [benchmarks/results/faults.jsonl]")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="semsearch-faults-"))
    try:
        corpus = work / "corpus"
        shutil.copytree(args.corpus, corpus)
        index_dir = work / "index"
        settings = _settings(index_dir)
        embedder = embedder_for(args.plumbing, settings)
        build_index([corpus], settings, embedder=embedder)
        results = {
            "kill_build": kill_builds(index_dir, corpus, args.kill_points, args.plumbing, embedder),
            "kill_write": kill_writes(index_dir, args.write_trials, args.plumbing, embedder),
            "corrupt_file": corrupt_files(index_dir, args.plumbing, tuple(args.kinds.split(","))),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'trial':<14}{'trials':>7}{'old':>6}{'new':>6}{'half':>6}{'refused':>9}{'answered':>10}{'check':>7}"
          f"{'errors':>8}")  # fmt: skip
    for name, row in results.items():
        print(f"{name:<14}{row['trials']:>7}{row.get('old', '-'):>6}{row.get('new', '-'):>6}{row.get('half', '-'):>6}"
              f"{row.get('refused_on_open', '-'):>9}{row.get('answered', '-'):>10}{row.get('named_by_check', '-'):>7}"
              f"{row['errors'] + row.get('crashes', 0):>8}")  # fmt: skip
    rows = [{"trial": name, **row} for name, row in results.items()]
    setup = {"corpus": str(args.corpus), "kill_points": args.kill_points, "write_trials": args.write_trials,
             "kinds": args.kinds, "plumbing": args.plumbing}  # fmt: skip
    append_results("faults", rows, model=embedder, settings=setup, out=args.out)
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        if sys.argv[2] == "corrupt":
            _corrupt_from(Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1", tuple(sys.argv[6].split(",")))
        else:
            _child(sys.argv[2:])
    else:
        main()
