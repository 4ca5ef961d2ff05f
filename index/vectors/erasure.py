"""Linear erasure of the language from embeddings: LEACE and a projection fitted on translations.

Both return an ``Eraser``: an affine map x -> x - s * A (x - mu), applied to passages (and, for a
projection, equally to queries), re-normalised to unit length. ``s`` (the strength) scales how much
of the fitted language component is removed, as the centring strength does.

- ``fit_leace``: LEAst-squares Concept Erasure (Belrose et al. 2023, "LEACE: Perfect linear concept
  erasure in closed form"). With W = Sigma^-1/2 the whitening of the vectors and P the orthogonal
  projection onto the column space of W Sigma_xz (Sigma_xz: cross-covariance of the vectors with the
  one-hot language), A = W^+ P W. After it no linear classifier predicts the language better than a
  constant one, with the least mean squared change to the vectors. Needs only vectors and languages.
- ``fit_parallel_projection``: the ``rank`` principal directions along which translations of one
  text differ (each vector minus the mean of its text's versions), removed by an orthogonal projection
  (A = U U^T, mu = 0). Needs parallel texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Eigenvalues below this share of the largest are treated as zero when whitening (the covariance of
# a few thousand 384-d vectors is ill-conditioned; the inverse square root would blow its noise up).
_EIGEN_FLOOR = 1e-6
# What a build uses (index/storage/rows.py): LEACE at half strength on the index's own passages and languages.
# Measured on held-out NTREX (benchmarks/README.md, bench_crosslingual.py): "alone" R@10 0.585 -> 0.695 against
# centring 0.25, same-language MRR@10 unchanged; full strength lifts "alone" further but costs 0.05 of it.
LEACE_STRENGTH = 0.5
# A language takes part in the fit only with at least this many rows: LEACE erases each language's whitened
# mean, and the mean of a few rows is mostly their topics (one row's language "mean" is the row itself, which
# half strength would pull halfway to the corpus mean). Rarer languages are left out of the fit (the map still
# applies to them); with fewer than two languages left, there is nothing to fit and a build centres instead.
MIN_LANGUAGE_ROWS = 32


@dataclass(frozen=True)
class Eraser:
    """x -> x - strength * (x - mean) @ erase.T, then unit length, with erase = left @ right of rank r.

    Kept factored: the erased subspace has at most (languages - 1) dimensions, so applying the map costs
    2·d·r per vector instead of d² (an exact filtered scan applies it to every allowed row)."""

    left: np.ndarray  # (d, r)
    right: np.ndarray  # (r, d): erase = left @ right, the part of x - mean that carries the concept
    mean: np.ndarray  # (d,)
    strength: float = 1.0

    @property
    def erase(self) -> np.ndarray:
        """The (d, d) map of x - mean onto what is removed."""
        return self.left @ self.right

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Erased, unit-length vectors (float32)."""
        x = np.asarray(vectors, dtype=np.float32)
        out = x - self.strength * (((x - self.mean) @ self.right.T) @ self.left.T)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def at(self, strength: float) -> Eraser:
        """The same eraser at another strength."""
        return Eraser(self.left, self.right, self.mean, strength)


def erasable_languages(labels: Sequence[str]) -> tuple[str, ...]:
    """The languages a build's LEACE fit takes part in (at least MIN_LANGUAGE_ROWS rows each), sorted; empty
    when fewer than two have that many (one language has no identity to erase against another)."""
    names, counts = np.unique(np.asarray(labels, dtype=str), return_counts=True)
    kept = tuple(str(n) for n, c in zip(names, counts) if c >= MIN_LANGUAGE_ROWS)
    return kept if len(kept) >= 2 else ()


def fit_leace(vectors: np.ndarray, labels: Sequence[str]) -> Eraser:
    """The LEACE eraser of the (categorical) ``labels`` from ``vectors``."""
    x = np.asarray(vectors, dtype=np.float64)
    names = sorted(set(labels))
    if len(names) < 2:  # one language: nothing to erase
        d = x.shape[1]
        return Eraser(np.zeros((d, 0), np.float32), np.zeros((0, d), np.float32), x.mean(axis=0).astype(np.float32))
    z = (np.asarray(labels)[:, None] == np.asarray(names)[None, :]).astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    sigma = xc.T @ xc / len(x)
    sigma_xz = xc.T @ (z - z.mean(axis=0)) / len(x)
    values, vecs = np.linalg.eigh(sigma)
    keep = values > values.max() * _EIGEN_FLOOR
    root = np.zeros_like(values)
    inv_root = np.zeros_like(values)
    root[keep] = np.sqrt(values[keep])
    inv_root[keep] = 1.0 / root[keep]
    whiten = (vecs * inv_root) @ vecs.T
    unwhiten = (vecs * root) @ vecs.T
    u, s, _ = np.linalg.svd(whiten @ sigma_xz, full_matrices=False)
    u = u[:, s > s.max() * 1e-8]
    return Eraser((unwhiten @ u).astype(np.float32), (u.T @ whiten).astype(np.float32), mean.astype(np.float32))


def fit_parallel_projection(vectors: np.ndarray, groups: Sequence[object], rank: int) -> Eraser:
    """Orthogonal projection removing the ``rank`` main directions in which the versions of a text
    (rows sharing a group) differ from their mean."""
    x = np.asarray(vectors, dtype=np.float64)
    keys = np.asarray([str(g) for g in groups])
    names, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros((len(names), x.shape[1]))
    np.add.at(sums, inverse, x)
    counts = np.bincount(inverse, minlength=len(names))[:, None]
    deviations = x - (sums / counts)[inverse]
    deviations = deviations[counts[inverse, 0] > 1]
    _, _, vt = np.linalg.svd(deviations, full_matrices=False)
    u = vt[:rank].T
    return Eraser(u.astype(np.float32), u.T.astype(np.float32), np.zeros(x.shape[1], np.float32))
