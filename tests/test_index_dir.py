"""The index folder: versions, opening one cheaply and safely, leases, checks, and what a build refuses
(plumbing embedder, real FAISS and SQLite files in tmp_path)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import index.storage.manifest
from index import SemsearchError, Settings, build_index, open_index
from index.storage.arrays import npy_header
from index.storage.layout import LEASE_FILE, MANIFEST_FILE
from index.storage.manifest import describe_files
from index.storage.versions import CURRENT, check_index
from search import SearchEngine
from search.cli import app as cli_app
from tests.conftest import ROOT, HashEmbedder, write_corpus

ONE = {"a.txt": "Alpha\n\nThe first story, about a harbour in the north.",
       "b.txt": "Beta\n\nA second story, about a bridge in the south."}  # fmt: skip


@pytest.mark.parametrize("name", ["with#hash", "with?question", "with%25percent", "with%percent"])
def test_index_paths_with_uri_characters_build_and_answer(tmp_path: Path, name: str) -> None:
    """Issue 18.7: an index path holding `#`, `?` or `%` broke every query (SQLite read it as a URI) and with
    `#`/`?` SQLite created an empty file outside the index folder."""
    base = tmp_path / name
    corpus = write_corpus(base / "corpus", ONE)
    settings = Settings(home=tmp_path / "home", index_dir=base / "index")
    build_index([corpus], settings, embedder=HashEmbedder())
    engine = SearchEngine(open_index(settings.index_dir), HashEmbedder())
    hits = engine.search("bridge south", k=2, group="articles").results
    assert hits[0].article_id == "b.txt"
    assert engine.article("a.txt").title == "Alpha"
    assert sorted(p.name for p in base.iterdir()) == ["corpus", "index"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", name]  # the home holds the embedding cache


def _version(settings: Settings) -> Path:
    return (settings.index_dir / CURRENT).resolve()


def test_opening_reads_no_checksum_and_check_verifies_them(
    tiny_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16.3: opening an index hashed every file (cost grew with the index); now it checks the manifest,
    sizes and headers only, and `check_index` verifies the checksums."""
    calls: list[Path] = []
    real = index.storage.manifest.file_sha256
    monkeypatch.setattr(index.storage.manifest, "file_sha256", lambda path: calls.append(path) or real(path))
    opened = open_index(tiny_index.index_dir)
    assert calls == [] and opened.manifest.articles == 7
    report = check_index(tiny_index.index_dir)
    assert report.files == len(opened.manifest.files) == len(calls) and report.version == opened.version


def test_semsearch_check_passes_then_names_the_damaged_file(tiny_index: Settings) -> None:
    """Issue 16.3: `semsearch check` verifies every file, names a damaged one, says how to repair, exits 4."""
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["check", "--index", str(tiny_index.index_dir), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    path = _version(tiny_index) / "sentences.npy"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # same size, one byte changed: only a checksum sees it
    path.write_bytes(bytes(data))
    assert open_index(tiny_index.index_dir).manifest.articles == 7  # cheap open does not notice
    bad = runner.invoke(cli_app, ["check", "--index", str(tiny_index.index_dir)])
    assert bad.exit_code == 4
    line = bad.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line and "sentences.npy" in line and "semsearch build" in line


def _corrupt(path: Path, kind: str) -> None:
    data = path.read_bytes()
    if kind == "header":
        path.write_bytes(b"\xff" * min(32, len(data)) + data[32:])
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "emptied":
        path.write_bytes(b"")
    elif kind == "deleted":
        path.unlink()
    elif kind == "pickled":
        np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif kind == "reshaped":
        header = npy_header(path)
        shape = header.shape
        np.save(path, np.zeros((shape[0] + 3, *shape[1:]) if shape else (3,), dtype=header.dtype))


def _bypass_verification(folder: Path) -> None:
    """Record the damaged files' sizes and checksums in the manifest, as if they were what the build wrote."""
    manifest_path = folder / MANIFEST_FILE
    data = json.loads(manifest_path.read_text())
    data["files"] = {
        name: asdict(record) for name, record in describe_files(folder, {MANIFEST_FILE, LEASE_FILE}).items()
    }
    manifest_path.write_text(json.dumps(data))


KINDS = ["header", "truncated", "emptied", "deleted", "pickled", "reshaped"]
MUST_REFUSE = {"header", "truncated", "emptied", "pickled"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_corruption_of_every_file_is_a_one_line_refusal(tiny_index: Settings, kind: str) -> None:
    """Issue 18.19: with manifest verification bypassed, a damaged file gave tracebacks ("mmap length is greater
    than file size", "pickled data"); every kind of damage to every file is now refused in one line, or the
    index still answers."""
    pristine = _version(tiny_index)
    names = [p.relative_to(pristine).as_posix() for p in sorted(pristine.rglob("*")) if p.is_file()]
    names.remove(MANIFEST_FILE)
    names.remove(LEASE_FILE)
    refused = 0
    for name in names:
        if kind in ("pickled", "reshaped") and not name.endswith(".npy"):
            continue
        if kind == "reshaped" and name.startswith("lexical/"):
            continue  # bm25s's own arrays: their shapes are bm25s's to check
        copy = Settings(home=tiny_index.home, index_dir=tiny_index.index_dir.with_name(f"copy-{kind}"))
        shutil.rmtree(copy.index_dir, ignore_errors=True)
        shutil.copytree(tiny_index.index_dir, copy.index_dir, symlinks=True)
        folder = _version(copy)
        _corrupt(folder / name, kind)
        _bypass_verification(folder)
        try:
            opened = open_index(copy.index_dir)
        except SemsearchError as exc:
            assert "\n" not in str(exc) and "semsearch build" in str(exc), (name, str(exc))
            refused += 1
            continue
        assert kind not in MUST_REFUSE, f"{kind} {name} was not refused"
        engine = SearchEngine(opened, HashEmbedder())
        assert engine.search("earthquake rescue", k=3, group="articles").results, (kind, name)
    assert refused >= 1


def test_a_truncated_mapped_file_is_refused_in_one_line_by_the_cli(tiny_index: Settings, tmp_path: Path) -> None:
    """Issue 18.13: a truncated memory-mapped file could SIGBUS the reader; sizes are checked against the
    manifest before anything is mapped, so the open is a one-line refusal (exit 4) in a real process."""
    path = _version(tiny_index) / "embeddings.npy"
    os.truncate(path, path.stat().st_size // 2)
    env = {**os.environ, "SEMSEARCH_HOME": str(tmp_path / "home"), "SEMSEARCH_INDEX": str(tiny_index.index_dir)}
    done = subprocess.run([sys.executable, "-c", "from search.cli import main; main()", "query", "harbour", "--mode", "lexical"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert done.returncode == 4, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "embeddings.npy" in lines[0]
    assert not (tmp_path / "home" / "models").exists()  # refused before any model was loaded


@pytest.mark.parametrize("spec", ["Flat", "HNSW16", "IVF8,Flat"])
def test_a_truncated_vector_file_is_refused_before_it_answers(tmp_path: Path, spec: str) -> None:
    """Issue 16: the FAISS file is read at the first dense search. A truncated Flat or HNSW file is still
    refused at open (its ids end it); an IVF one answers lexical queries (which never read it) and is refused
    in one line by the first dense one, and by `semsearch check` (sizes and checksums made to match)."""
    corpus = {f"a{i:02d}.txt": f"Story {i}\n\nA report about harbour number {i} and its bridge." for i in range(12)}
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx", passage_tokens=24, index_spec=spec)
    build_index([write_corpus(tmp_path / "c", corpus)], settings, embedder=HashEmbedder())
    folder = _version(settings)
    _corrupt(folder / "vectors.faiss", "truncated")
    _bypass_verification(folder)
    if spec != "IVF8,Flat":
        with pytest.raises(SemsearchError, match=r"vectors\.faiss is damaged"):
            open_index(settings.index_dir)
        return
    engine = SearchEngine(open_index(settings.index_dir), HashEmbedder())
    assert engine.search("harbour number 3", k=1, mode="lexical").results[0].article_id == "a03.txt"
    with pytest.raises(SemsearchError) as refused:
        engine.search("harbour number 3", k=1, mode="dense")
    assert "vectors.faiss is damaged" in str(refused.value) and "semsearch build" in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(SemsearchError, match=r"vectors\.faiss is damaged"):
        check_index(settings.index_dir)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o755), (0o077, 0o700)])
def test_version_folders_follow_the_umask(settings: Settings, corpus: Path, umask: int, mode: int) -> None:
    """Issue 18, minor: version folders were created 0700, so a server running as another user could not read
    them; they now get the permissions the umask gives any new folder."""
    old = os.umask(umask)
    try:
        build_index([corpus], settings, embedder=HashEmbedder())
    finally:
        os.umask(old)
    assert stat.S_IMODE(_version(settings).stat().st_mode) == mode
