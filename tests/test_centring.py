"""Language centring removes a shared per-language offset and keeps vectors unit length."""

from __future__ import annotations

import numpy as np

from index.vectors.centring import centre, language_means


def test_centring_removes_language_offset_so_translations_meet() -> None:
    rng = np.random.default_rng(0)
    content = rng.standard_normal((200, 16))
    offset = {"en": rng.standard_normal(16) * 3, "ar": rng.standard_normal(16) * 3}
    en, ar = content + offset["en"], content + offset["ar"]  # the same content in two "languages"
    vectors = np.vstack([en, ar]).astype(np.float32)
    langs = ["en"] * 200 + ["ar"] * 200
    centred = centre(vectors, langs, language_means(vectors, langs), strength=1.0)
    assert np.allclose(np.linalg.norm(centred, axis=1), 1.0, atol=1e-5)
    raw_cos = np.sum(vectors[:200] * vectors[200:], axis=1) / (
        np.linalg.norm(vectors[:200], axis=1) * np.linalg.norm(vectors[200:], axis=1)
    )
    new_cos = np.sum(centred[:200] * centred[200:], axis=1)
    assert raw_cos.mean() < 0.5 < 0.8 < new_cos.mean()


def test_partial_strength_moves_part_of_the_way() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.2]], dtype=np.float32)
    means = {"*": np.array([0.5, 0.0], dtype=np.float32), "en": np.array([1.0, 0.0], dtype=np.float32)}
    half = centre(vectors[:1], ["en"], means, strength=0.5)
    assert np.allclose(half, [[1.0, 0.0]])  # re-normalised (0.5, 0) is still the unit x vector
    assert np.allclose(centre(vectors[1:], ["en"], means, strength=0.0)[0], vectors[1] / np.linalg.norm(vectors[1]))


def test_small_languages_are_shrunk_towards_the_corpus_mean() -> None:
    vectors = np.vstack([np.ones((100, 4)), [[0, 0, 0, 5]]]).astype(np.float32)
    means = language_means(vectors, ["en"] * 100 + ["ar"])
    assert np.linalg.norm(means["ar"] - means["*"]) < np.linalg.norm(vectors[-1] - means["*"]) / 10
    # an unknown language falls back to the corpus mean
    assert np.allclose(centre(vectors[-1:], ["xx"], means), centre(vectors[-1:], ["*"], means))


def test_extending_means_keeps_old_ones_and_shrinks_new_ones_towards_the_frozen_corpus_mean() -> None:
    from index.storage.rows import LanguageMeans
    from index.vectors.centring import MEAN_SHRINKAGE

    old = LanguageMeans.fit(np.ones((10, 4), np.float32), ["en"] * 10, 0.25)
    new_rows = np.array([[0, 0, 0, 2]] * 3 + [[5, 5, 5, 5]], dtype=np.float32)
    grown = old.extend(new_rows, ["ar", "ar", "ar", "en"])
    assert set(grown.means) == {"*", "en", "ar"}
    assert np.array_equal(grown.means["en"], old.means["en"]) and np.array_equal(grown.means["*"], old.means["*"])
    expected = (new_rows[:3].sum(axis=0) + MEAN_SHRINKAGE * old.means["*"]) / (3 + MEAN_SHRINKAGE)
    assert np.allclose(grown.means["ar"], expected)
    assert old.extend(new_rows[3:], ["en"]) is old
