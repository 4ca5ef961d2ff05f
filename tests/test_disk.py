"""A full or read-only disk: one line naming the folder, the disk and what to do; the old index intact
(plumbing embedder; the OS errors are raised where the writers meet the disk)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import index.build.version
import index.embedding.materialise
import index.storage.store
import index.storage.versions
from index import SemsearchError, Settings, build_index, open_index
from index.disk import mount_point
from search.cli import app as cli_app
from tests.conftest import HashEmbedder


def _disk_full(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _leftovers(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith(".tmp-"))


def test_a_full_disk_during_a_build_is_one_line_and_keeps_the_old_index(
    tiny_index: Settings, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18.14: disk full during a build printed a traceback (`faiss::write_index … No space left on
    device`); it is now one error naming the disk and the space needed, and the old index still answers."""
    before = open_index(tiny_index.index_dir).version
    (corpus / "new.txt").write_text("New\n\nA new story about a lighthouse.", encoding="utf-8")
    monkeypatch.setattr(index.storage.store, "create_store", _disk_full)
    with pytest.raises(SemsearchError) as caught:
        build_index([corpus], tiny_index, embedder=HashEmbedder())
    message = str(caught.value)
    disk = str(mount_point(tiny_index.index_dir))
    assert message.startswith("No space left") and f"mounted at {disk}" in message and "needs about" in message
    assert "\n" not in message and "--index" in message
    assert open_index(tiny_index.index_dir).version == before and _leftovers(tiny_index.index_dir) == []


def test_faiss_reporting_a_full_disk_is_the_same_one_line(
    tiny_index: Settings, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18.14: FAISS reports a failed write as a RuntimeError with the OS's words; it gets its errno back."""
    import faiss

    def full(*args: object) -> None:
        raise RuntimeError("Error in faiss::FileIOWriter: fwrite failed: No space left on device")

    before = open_index(tiny_index.index_dir).version
    (corpus / "new.txt").write_text("New\n\nA new story about a lighthouse.", encoding="utf-8")
    monkeypatch.setattr(faiss, "write_index", full)
    with pytest.raises(SemsearchError, match="No space left to write"):
        build_index([corpus], tiny_index, embedder=HashEmbedder())
    assert open_index(tiny_index.index_dir).version == before and _leftovers(tiny_index.index_dir) == []


def test_a_read_only_index_folder_is_one_line(tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18.15: a read-only index folder gave `OSError: [Errno 30] Read-only file system` tracebacks."""

    def read_only(*args: object, **kwargs: object) -> str:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(tmp_path / "idx"))

    monkeypatch.setattr(index.storage.versions.tempfile, "mkdtemp", read_only)
    with pytest.raises(SemsearchError, match=r"Cannot write to .*idx \(read-only file system\); pass --index"):
        build_index([corpus], Settings(home=tmp_path / "home", index_dir=tmp_path / "idx"), embedder=HashEmbedder())


def test_a_read_only_home_without_a_model_says_what_to_do(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18.15: a read-only SEMSEARCH_HOME with no model materialised yet gave a traceback; the CLI now
    prints one `error:` line saying to point SEMSEARCH_HOME at a writable folder."""

    def read_only(target: Path) -> Path:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(target.parent))

    monkeypatch.setattr(index.embedding.materialise, "materialise_default_model", read_only)
    monkeypatch.setenv("SEMSEARCH_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli_app, ["build", str(corpus), "--index", str(tmp_path / "idx"), "--quiet"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Cannot write to") and "SEMSEARCH_HOME" in lines[0]
