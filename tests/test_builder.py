"""Building: counts and manifest, atomic swaps, crashes mid-build, bad inputs that lose nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index import BuildProgress, Settings, build_index, open_index
from index.errors import IndexMismatchError, IndexNotFoundError, NothingToIndexError, SemsearchError
from index.storage.layout import MANIFEST_FILE, STORE_FILE
from index.storage.manifest import READABLE_FORMATS
from index.storage.versions import CURRENT, build_lock, check_index
from tests.conftest import HashEmbedder, write_corpus


def test_build_writes_manifest_vectors_and_store(tiny_index: Settings) -> None:
    loaded = open_index(tiny_index.index_dir)
    m = loaded.manifest
    assert (m.articles, m.skipped, m.headlines) == (7, 0, 7)
    assert m.passages >= 7 and len(loaded.vectors) == m.passages + m.headlines
    assert m.model.name == "test/hash-embedder" and m.model.dimension == 64
    assert m.chunker.passage_tokens == tiny_index.passage_tokens and m.language_centring > 0
    assert m.languages == {"en": 2, "ar": 1, "zh": 1, "ru": 1, "fr": 1, "fa": 1}
    assert {"vectors.faiss", "vectors.params.json", "store.sqlite", "language_means.npz", "embeddings.npy",
            "rows.npz", "masked_ids.npy", "lexical/rows.json"} <= set(m.files)  # fmt: skip
    assert loaded.lexical.rows == len(loaded.rows)
    assert m.index_spec == "Flat" and m.build.mode == "full" and m.recall.recall_heldout == 1.0
    for row in loaded.store.passages(list(range(m.passages))).values():
        assert row.article.text[row.passage.start : row.passage.end] == row.passage.text


def test_progress_reports_every_stage(settings: Settings, corpus: Path) -> None:
    events: list[BuildProgress] = []
    build_index([corpus], settings, embedder=HashEmbedder(), progress=events.append)
    stages = [e.stage for e in events]
    assert stages.index("read") < stages.index("chunk") < stages.index("embed") < stages.index("write")
    last_embed = [e for e in events if e.stage == "embed"][-1]
    assert last_embed.done == last_embed.total


def test_skipped_files_are_reported_and_build_goes_on(settings: Settings, corpus: Path) -> None:
    (corpus / "empty.txt").write_text("")
    report = build_index([corpus], settings, embedder=HashEmbedder())
    assert [s.path for s in report.skipped] == ["empty.txt"]
    assert report.manifest.articles == 7 and report.manifest.skipped == 1


class CrashingEmbedder(HashEmbedder):
    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        raise KeyboardInterrupt("power cut")


def test_crash_mid_build_keeps_the_previous_index(tiny_index: Settings, corpus: Path) -> None:
    before = open_index(tiny_index.index_dir)
    (corpus / "new.txt").write_text("New article\n\nSomething else happened today.")
    with pytest.raises(KeyboardInterrupt):
        build_index([corpus], tiny_index, embedder=CrashingEmbedder())
    after = open_index(tiny_index.index_dir)
    assert after.version == before.version and after.manifest.articles == 7
    assert not any(p.name.startswith(".tmp-") for p in tiny_index.index_dir.iterdir())


def test_abandoned_temp_folders_are_cleaned_by_the_next_build(tiny_index: Settings, corpus: Path) -> None:
    (tiny_index.index_dir / ".tmp-20990101T000000-1").mkdir()  # what a killed build leaves behind
    build_index([corpus], tiny_index, embedder=HashEmbedder())
    assert not any(p.name.startswith(".tmp-") for p in tiny_index.index_dir.iterdir())


def test_rebuild_swaps_atomically_and_keeps_one_previous_version(tiny_index: Settings, corpus: Path) -> None:
    versions = {open_index(tiny_index.index_dir).version}
    for i in range(3):
        (corpus / f"extra{i}.txt").write_text(f"Extra {i}\n\nAnother story number {i}.")
        report = build_index([corpus], tiny_index, embedder=HashEmbedder())
        versions.add(report.version)
        assert (tiny_index.index_dir / CURRENT).resolve().name == report.version
    assert len(versions) == 4
    kept = sorted(p.name for p in tiny_index.index_dir.glob("v-*"))
    assert len(kept) == 2 and report.version in kept
    assert open_index(tiny_index.index_dir).manifest.articles == 10


def test_nothing_to_index_leaves_existing_index(tiny_index: Settings, tmp_path: Path) -> None:
    empty = write_corpus(tmp_path / "empty", {"a.txt": " ", "b.csv": "x"})
    with pytest.raises(NothingToIndexError, match="No readable article"):
        build_index([empty], tiny_index, embedder=HashEmbedder())
    assert open_index(tiny_index.index_dir).manifest.articles == 7


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="semsearch build"):
        open_index(tmp_path / "nowhere")


def test_corrupt_manifest_is_refused(tiny_index: Settings) -> None:
    folder = (tiny_index.index_dir / CURRENT).resolve()
    (folder / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(IndexMismatchError, match="corrupt"):
        open_index(tiny_index.index_dir)


@pytest.mark.parametrize(
    "version", [min(READABLE_FORMATS) - 1, 99]
)  # one before those read (no sentence spans), a future one
def test_other_format_version_is_refused(tiny_index: Settings, version: int) -> None:
    path = (tiny_index.index_dir / CURRENT).resolve() / MANIFEST_FILE
    data = json.loads(path.read_text())
    data["format_version"] = version
    path.write_text(json.dumps(data))
    with pytest.raises(IndexMismatchError, match=f"has format {version}, .* rebuild it with `semsearch build`"):
        open_index(tiny_index.index_dir)


def test_changed_store_fails_its_checksum(tiny_index: Settings) -> None:
    store = (tiny_index.index_dir / CURRENT).resolve() / STORE_FILE
    with store.open("r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00garbage\x00")
    with pytest.raises(IndexMismatchError, match=r"store\.sqlite"):  # opening checks sizes; `check` the checksums
        check_index(tiny_index.index_dir)


def test_refuses_to_build_into_a_foreign_folder(tmp_path: Path, corpus: Path) -> None:
    target = tmp_path / "docs"
    target.mkdir()
    (target / "thesis.docx").write_text("precious")
    with pytest.raises(SemsearchError, match="not a semsearch index"):
        build_index([corpus], Settings(home=tmp_path, index_dir=target), embedder=HashEmbedder())
    assert (target / "thesis.docx").read_text() == "precious"


def test_second_concurrent_build_is_refused(tiny_index: Settings, corpus: Path) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with build_lock(tiny_index.index_dir):
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    try:
        with pytest.raises(SemsearchError, match="Another build"):
            build_index([corpus], tiny_index, embedder=HashEmbedder())
    finally:
        release.set()
        holder.join()


def test_passage_budget_above_model_limit_is_refused(settings: Settings, corpus: Path) -> None:
    with pytest.raises(SemsearchError, match="exceeds the model's limit"):
        build_index([corpus], settings.with_overrides(passage_tokens=4096), embedder=HashEmbedder())


def test_passages_of_an_article_mixing_languages_get_their_own_language(tmp_path: Path) -> None:
    arabic = ("وقال المتحدث باسم الكرملين إن إيران شريك مهم بالنسبة لروسيا وإن البلدين يعملان على تطوير "
              "تعاون متعدد الأوجه في مجالات التجارة والطاقة والنقل. ") * 3  # fmt: skip
    english = ("The full statement, released in English by the ministry, said the two countries would "
               "expand trade, energy and transport links over the coming decade. ") * 3  # fmt: skip
    folder = write_corpus(tmp_path / "c", {"mixed.txt": f"معاهدة شراكة\n\n{arabic}\n\n{english}"})
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx", passage_tokens=48)
    build_index([folder], settings, embedder=HashEmbedder())
    loaded = open_index(settings.index_dir)
    rows = loaded.store.passages(list(range(loaded.manifest.passages)))
    langs = {(row.passage.lang or row.article.lang) for row in rows.values()}
    assert loaded.store.article("mixed.txt").lang == "ar"  # type: ignore[union-attr]
    assert langs == {"ar", "en"}
    english_rows = [r for r in rows.values() if r.passage.lang == "en"]
    assert english_rows and all("statement" in r.passage.text or "decade" in r.passage.text for r in english_rows)
    # the vector rows carry the passage's language (used for per-language centring)
    assert "en" in set(loaded.rows.langs.tolist())
