"""storage.layout, the one owner of a version's files (issue 13.2): what it writes is exactly FILES, and its
read refuses, in one line, a version whose file set or sizes are not what the build wrote. Plumbing: the
hashing embedder, a real index folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index import IndexMismatchError, Settings, open_index
from index.storage.layout import FILES, LEASE_FILE, MANIFEST_FILE, read_manifest


def _version(settings: Settings) -> Path:
    return (settings.index_dir / "current").resolve()


def test_a_version_holds_exactly_the_files_of_the_layout(tiny_index: Settings) -> None:
    folder = _version(tiny_index)
    assert {p.name for p in folder.iterdir()} == set(FILES)
    listed = set(json.loads((folder / MANIFEST_FILE).read_text())["files"])
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert listed == on_disk - {MANIFEST_FILE, LEASE_FILE}


@pytest.mark.parametrize("damage", ["missing", "extra", "short", "unlisted"])
def test_a_version_whose_files_are_not_what_the_build_wrote_is_refused(tiny_index: Settings, damage: str) -> None:
    folder = _version(tiny_index)
    if damage == "missing":
        (folder / "language_means.npz").unlink()
        expected = "language_means.npz is missing"
    elif damage == "extra":
        (folder / "notes.txt").write_text("left here by someone")
        expected = "files its build did not write (notes.txt)"
    elif damage == "short":
        path = folder / "sentences.npy"
        path.write_bytes(path.read_bytes()[:-4])
        expected = "sentences.npy is damaged"
    else:  # a manifest that no longer lists a file of the format (edited, or from another layout)
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        del manifest["files"]["masked_ids.npy"]
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
        (folder / "masked_ids.npy").unlink()
        expected = "does not list masked_ids.npy"
    with pytest.raises(IndexMismatchError, match="rebuild") as refused:
        read_manifest(folder)
    assert expected in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(IndexMismatchError):
        open_index(tiny_index.index_dir)


def test_the_lexical_folder_is_part_of_the_file_set(tiny_index: Settings) -> None:
    folder = _version(tiny_index)
    shutil.rmtree(folder / "lexical" / "names")
    with pytest.raises(IndexMismatchError, match="is missing"):
        read_manifest(folder)
