"""Rebuilding a changed folder: nothing embedded twice, ids kept, deletions gone, HNSW masking, IVF retraining."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import LoadedIndex, Settings, build_index, open_index
from index.models import HEADLINE_ID_BASE
from search import SearchEngine
from tests.conftest import HashEmbedder, write_corpus


def corpus_of(n: int, start: int = 0) -> dict[str, str]:
    return {
        f"a{i:03d}.txt": f"Story {i} headline\n\n"
        + " ".join(f"Fact {i}.{j} about subject{(i + j) % 11}." for j in range(8))
        for i in range(start, start + n)
    }


def passage_ids(loaded: LoadedIndex) -> dict[str, set[int]]:
    """Passage ids per article id."""
    out: dict[str, set[int]] = {}
    for pid, row in loaded.store.passages(loaded.rows.ids[loaded.rows.ids < HEADLINE_ID_BASE].tolist()).items():
        out.setdefault(row.article.id, set()).add(pid)
    return out


def test_rebuild_with_nothing_changed_encodes_nothing(tiny_index: Settings, corpus: Path) -> None:
    before = open_index(tiny_index.index_dir)
    embedder = HashEmbedder()
    report = build_index([corpus], tiny_index, embedder=embedder)
    assert embedder.encoded == 0
    assert not report.published and report.version == before.version
    after = open_index(tiny_index.index_dir)
    assert np.array_equal(after.rows.ids, before.rows.ids)
    q = "earthquake rescue"
    assert (
        SearchEngine(after, HashEmbedder()).search(q).results == SearchEngine(before, HashEmbedder()).search(q).results
    )


def test_changed_added_and_deleted_articles(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", corpus_of(20))
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx", passage_tokens=24)
    build_index([folder], settings, embedder=HashEmbedder())
    before = open_index(settings.index_dir)
    kept = passage_ids(before)
    (folder / "a003.txt").unlink()
    (folder / "a004.txt").write_text("Story 4 headline\n\nA completely new body about volcanoes erupting.")
    (folder / "new.txt").write_text("Brand new story\n\nSomething about glaciers melting fast.")
    embedder = HashEmbedder()
    report = build_index([folder], settings, embedder=embedder)
    after = open_index(settings.index_dir)
    assert report.manifest.build.mode == "incremental"
    new_passages = [r for r in after.store.passages(after.rows.ids[after.rows.ids < 1 << 40].tolist()).values()
                     if r.article.id in ("a004.txt", "new.txt")]  # fmt: skip
    assert embedder.encoded == len(new_passages) + 1  # their passages and the new headline (a004's is unchanged)
    # unchanged articles keep their passage ids; the changed one gets new ones
    now = passage_ids(after)
    assert all(now[a] == ids for a, ids in kept.items() if a not in ("a003.txt", "a004.txt"))
    assert not now["a004.txt"] & kept["a004.txt"] and "a003.txt" not in now
    engine = SearchEngine(after, HashEmbedder())
    ids = [h.article_id for h in engine.search("Story 3 headline Fact 3.1", k=50).results]
    assert "a003.txt" not in ids and "new.txt" in ids and len(ids) == 20
    assert engine.search("volcanoes erupting", k=1).results[0].article_id == "a004.txt"


def test_hnsw_masks_deletions_then_compacts(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", corpus_of(30))
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx", passage_tokens=24, index_spec="HNSW16")
    build_index([folder], settings, embedder=HashEmbedder())
    (folder / "a000.txt").unlink()
    report = build_index([folder], settings, embedder=HashEmbedder())
    assert report.manifest.build.mode == "incremental" and report.manifest.build.masked > 0
    loaded = open_index(settings.index_dir)
    assert len(loaded.vectors) == len(loaded.rows) + len(loaded.masked)
    engine = SearchEngine(loaded, HashEmbedder())
    assert "a000.txt" not in {h.article_id for h in engine.search("Story 0 headline Fact 0.1", k=40).results}
    for name in [f"a{i:03d}.txt" for i in range(1, 12)]:
        (folder / name).unlink()
    report = build_index([folder], settings, embedder=HashEmbedder())
    assert report.manifest.build.mode == "full" and report.manifest.build.masked == 0  # compacted


def test_ivf_is_retrained_when_the_corpus_outgrows_it(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", corpus_of(10))
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx", passage_tokens=24, index_spec="IVF8,Flat")
    first = build_index([folder], settings, embedder=HashEmbedder())
    trained_on = first.manifest.build.trained_on
    write_corpus(folder, corpus_of(5, start=10))
    grown = build_index([folder], settings, embedder=HashEmbedder())
    assert grown.manifest.build.mode == "incremental" and grown.manifest.build.trained_on == trained_on
    write_corpus(folder, corpus_of(40, start=15))
    retrained = build_index([folder], settings, embedder=HashEmbedder())
    assert retrained.manifest.build.mode == "full" and retrained.manifest.build.trained_on > 4 * trained_on
    assert retrained.manifest.recall.parameter == "nprobe"


def test_other_model_weights_rebuild_everything(tiny_index: Settings, corpus: Path) -> None:
    other = HashEmbedder()
    other.fingerprint = "hash-v2"
    report = build_index([corpus], tiny_index, embedder=other)
    assert report.manifest.build.mode == "full" and report.manifest.build.vectors_reused == 0
    assert other.encoded == len(open_index(tiny_index.index_dir).rows)


@pytest.mark.parametrize("spec", ["Flat", "HNSW16", "IVF8,Flat"])
def test_indexes_are_memory_mapped_and_rebuilt_from_a_writable_copy(tmp_path: Path, spec: str) -> None:
    """Issue 16: every index type is searched from a read-only mapping (FAISS aborts the process if one is
    changed); an incremental build reads a writable copy of the file instead, and the mapping still answers."""
    folder = write_corpus(tmp_path / "c", corpus_of(12))
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx", passage_tokens=24, index_spec=spec)
    build_index([folder], settings, embedder=HashEmbedder())
    mapped = open_index(settings.index_dir)
    assert mapped.vectors.mapped and not open_index(settings.index_dir, mmap=False).vectors.mapped
    engine = SearchEngine(mapped, HashEmbedder())
    assert engine.search("Story 3 headline", k=1, mode="dense").results[0].article_id == "a003.txt"
    with pytest.raises(RuntimeError, match="read-only"):
        mapped.vectors.add(np.array([10**6]), np.ones((1, mapped.vectors.dimension), np.float32))
    write_corpus(folder, {"a100.txt": "Story 100 headline\n\nA harbour reopened after the storm. " * 3})
    report = build_index([folder], settings, embedder=HashEmbedder())
    assert report.manifest.build.mode == "incremental"
    rebuilt = SearchEngine(open_index(settings.index_dir), HashEmbedder())
    assert rebuilt.search("Story 100 headline", k=1, mode="dense").results[0].article_id == "a100.txt"
    assert engine.search("Story 3 headline", k=1, mode="dense").results[0].article_id == "a003.txt"


def test_a_rebuild_that_changes_nothing_publishes_nothing(
    tiny_index: Settings, corpus: Path, monkeypatch: pytest.MonkeyPatch, hash_model: None
) -> None:
    """Issue 19.6: a no-op rebuild published a new version (making a Milvus export stale); it now publishes
    nothing and says so (`published: false` in `semsearch build --json`, a "Nothing changed" summary)."""
    import json

    from typer.testing import CliRunner

    from search.cli import app as cli_app

    before = sorted(p.name for p in tiny_index.index_dir.glob("v-*"))
    version = open_index(tiny_index.index_dir).version
    report = build_index([corpus], tiny_index, embedder=HashEmbedder())
    assert not report.published and report.version == version
    monkeypatch.setenv("SEMSEARCH_HOME", str(tiny_index.home))
    args = ["build", str(corpus), "--index", str(tiny_index.index_dir), "--quiet"]
    runner = CliRunner()
    out = json.loads(runner.invoke(cli_app, [*args, "--json"]).stdout)
    assert out["published"] is False and out["version"] == version
    assert runner.invoke(cli_app, args).stdout.startswith("Nothing changed: 7 articles")
    assert sorted(p.name for p in tiny_index.index_dir.glob("v-*")) == before
    (corpus / "en_football.txt").write_text("Local club loses the cup\n\nThe final was lost.", encoding="utf-8")
    changed = build_index([corpus], tiny_index, embedder=HashEmbedder())
    assert changed.published and changed.version != version
    assert build_index([corpus], tiny_index, embedder=HashEmbedder(), progress=None).published is False
    other_spec = build_index([corpus], tiny_index.with_overrides(index_spec="HNSW16"), embedder=HashEmbedder())
    assert other_spec.published and other_spec.manifest.index_spec == "HNSW16"
