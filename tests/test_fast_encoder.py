"""The int8 ONNX encoder with the real model (slow): close to fp32, builds and answers like it, records
itself in the index, and falls back to fp32 — leaving nothing half-written — when its export fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import Settings, build_index, load_embedder
from index.embedding import Embedder, encode_with_sentences, resolve_model
from index.embedding.backends import ONNX_INT8, TORCH_FP32
from search.engine import SearchEngine
from tests.conftest import SEED_ARTICLE, SEEDS

pytestmark = pytest.mark.slow

TEXTS = [
    "Russia and Iran signed a comprehensive strategic partnership treaty in Moscow on Friday.",
    "وقع الرئيسان معاهدة شراكة استراتيجية في موسكو يوم الجمعة. وتشمل المعاهدة التعاون في مجالات الطاقة.",
    "Мощное землетрясение произошло на острове Сулавеси. Спасатели ищут выживших.",
    "周末的暴雨导致多个城市发生洪水。数千名居民被疏散。",
    "Les métros et les bus sont à l'arrêt ce lundi à Paris.",
]


@pytest.fixture(scope="session")
def fast_embedder() -> Embedder:
    """The default model's int8 export (made once into the user's SEMSEARCH_HOME, ~35 s)."""
    return load_embedder(None, Settings.from_env().models_dir, "fast")


def test_int8_vectors_stay_close_to_fp32(fast_embedder: Embedder, real_embedder: Embedder) -> None:
    assert fast_embedder.backend == ONNX_INT8 and real_embedder.backend == TORCH_FP32
    assert fast_embedder.fingerprint == real_embedder.fingerprint  # the same weights, run another way
    assert fast_embedder.count_tokens(TEXTS) == real_embedder.count_tokens(TEXTS)
    assert (fast_embedder.prompt_tokens, fast_embedder.max_tokens) == (
        real_embedder.prompt_tokens,
        real_embedder.max_tokens,
    )
    spans = [[(0, len(t) // 2), (len(t) // 2, len(t))] for t in TEXTS]
    fast, fast_sentences = encode_with_sentences(fast_embedder, TEXTS, spans, 8)
    full, full_sentences = encode_with_sentences(real_embedder, TEXTS, spans, 8)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1, atol=1e-5)
    cosines = (fast * full).sum(axis=1)
    assert cosines.min() > 0.98 and cosines.mean() > 0.99, cosines
    for a, b in zip(fast_sentences, full_sentences):
        assert a.shape == b.shape and (a * b).sum(axis=1).min() > 0.97
    q = (
        fast_embedder.encode_queries(["Russia Iran treaty"]) * real_embedder.encode_queries(["Russia Iran treaty"])
    ).sum()
    assert q > 0.98


def test_a_fast_index_records_its_encoder_and_answers_cross_lingually(fast_embedder: Embedder, tmp_path: Path) -> None:
    settings = Settings(home=Settings.from_env().home, index_dir=tmp_path / "index", cache_bytes=0)
    report = build_index([SEEDS], settings, embedder=fast_embedder)
    assert report.manifest.model.encoder == ONNX_INT8
    engine = SearchEngine.open(settings)  # queries use the index's own encoder by default
    assert engine.embedder.backend == ONNX_INT8
    hits = engine.search("Russia Iran treaty", k=3, group="articles").results
    assert hits[0].article_id == SEED_ARTICLE and hits[0].lang == "ar"
    # fp32 queries against an int8 index were measured safe (benchmarks/README.md), so they are allowed
    fp32 = SearchEngine.open(settings.with_overrides(encoder=TORCH_FP32))
    assert fp32.search("Russia Iran treaty", k=3, group="articles").results[0].article_id == SEED_ARTICLE


def test_a_failed_export_falls_back_to_fp32_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from index.embedding import onnx_export

    folder = resolve_model(None, Settings.from_env().models_dir).location

    def broken(*args: object) -> Path:
        raise RuntimeError("optimiser crashed")

    monkeypatch.setattr(onnx_export, "_optimise", broken)  # fails after torch has written the raw graph
    embedder = load_embedder(str(folder), tmp_path / "models", "fast")
    assert embedder.backend == TORCH_FP32
    assert any("optimiser crashed" in n and "torch-fp32 instead" in n for n in embedder.notices)  # type: ignore[attr-defined]
    exports = tmp_path / "models" / "onnx-int8"
    assert [p.name for p in exports.iterdir() if not p.name.endswith(".lock")] == []  # no half-written folder
