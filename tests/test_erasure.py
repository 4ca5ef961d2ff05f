"""Linear language erasure: LEACE leaves no linear trace of the language; the parallel projection
removes the directions in which translations differ."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from index.vectors.erasure import fit_leace, fit_parallel_projection


def _languages(seed: int, n: int = 600, d: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content vectors (drawn from ``seed``) plus a per-language offset and stretch: three "languages"."""
    content = np.random.default_rng(seed).standard_normal((n, d))
    labels = np.array(["en", "ar", "zh"])[np.arange(n) % 3]
    languages = np.random.default_rng(100)  # the same languages in every sample
    offsets = {lang: languages.standard_normal(d) * 2 for lang in ("en", "ar", "zh")}
    x = content + np.stack([offsets[lang] for lang in labels])
    x[labels == "zh", 0] *= 3.0  # a language that differs by more than its mean
    return x.astype(np.float32), labels, content


def _probe_accuracy(train: np.ndarray, labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray) -> float:
    probe = LogisticRegression(max_iter=2000).fit(train, labels)
    return float((probe.predict(test) == test_labels).mean())


def test_leace_drops_a_linear_language_probe_to_chance() -> None:
    x, labels, _ = _languages(0)
    held, held_labels, _ = _languages(1)
    assert _probe_accuracy(x, labels, held, held_labels) > 0.95
    eraser = fit_leace(x, labels.tolist())
    # un-normalised erasure: the guarantee is about the affine map itself
    raw = lambda v: v - (v - eraser.mean) @ eraser.erase.T  # noqa: E731
    accuracy = _probe_accuracy(raw(x), labels, raw(held), held_labels)
    assert accuracy < 0.45  # chance is 1/3; a probe on the raw vectors gets > 0.95
    # each language's mean is moved onto the common mean: nothing linear is left to tell them apart
    erased = raw(x)
    means = np.stack([erased[labels == lang].mean(axis=0) for lang in ("en", "ar", "zh")])
    assert np.abs(means - means.mean(axis=0)).max() < 1e-3


def test_leace_keeps_what_does_not_carry_the_language() -> None:
    x, labels, content = _languages(2)
    erased = fit_leace(x, labels.tolist()).apply(x)
    assert np.allclose(np.linalg.norm(erased, axis=1), 1.0, atol=1e-5)
    # the content stays linearly recoverable: a least-squares map from the erased vectors explains most of it
    fitted, *_ = np.linalg.lstsq(np.c_[erased, np.ones(len(x))], content, rcond=None)
    residual = content - np.c_[erased, np.ones(len(x))] @ fitted
    assert residual.var() / content.var() < 0.2


def test_one_language_erases_nothing_and_strength_scales() -> None:
    x = np.random.default_rng(3).standard_normal((50, 8)).astype(np.float32)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert np.allclose(fit_leace(x, ["en"] * 50).apply(x), unit, atol=1e-6)
    labels = ["en", "ar"] * 25
    assert np.allclose(fit_leace(x, labels).at(0.0).apply(x), unit, atol=1e-6)


def test_parallel_projection_makes_translations_meet() -> None:
    rng = np.random.default_rng(4)
    texts = rng.standard_normal((300, 16))
    shift = {"en": rng.standard_normal(16) * 2, "ar": rng.standard_normal(16) * 2}
    x = np.vstack([texts + shift["en"], texts + shift["ar"]]).astype(np.float32)
    groups = list(range(300)) * 2
    projected = fit_parallel_projection(x, groups, rank=1).apply(x)
    raw = x / np.linalg.norm(x, axis=1, keepdims=True)
    before = np.sum(raw[:300] * raw[300:], axis=1).mean()
    after = np.sum(projected[:300] * projected[300:], axis=1).mean()
    assert after > 0.999 > before
