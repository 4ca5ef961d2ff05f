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


@dataclass(frozen=True)
class Eraser:
    """x -> x - strength * (x - mean) @ erase.T, then unit length."""

    erase: np.ndarray  # (d, d): the part of x - mean that carries the concept
    mean: np.ndarray  # (d,)
    strength: float = 1.0

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Erased, unit-length vectors (float32)."""
        x = np.asarray(vectors, dtype=np.float32)
        out = x - self.strength * ((x - self.mean) @ self.erase.T)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def at(self, strength: float) -> Eraser:
        """The same eraser at another strength."""
        return Eraser(self.erase, self.mean, strength)


def fit_leace(vectors: np.ndarray, labels: Sequence[str]) -> Eraser:
    """The LEACE eraser of the (categorical) ``labels`` from ``vectors``."""
    x = np.asarray(vectors, dtype=np.float64)
    names = sorted(set(labels))
    if len(names) < 2:  # one language: nothing to erase
        d = x.shape[1]
        return Eraser(np.zeros((d, d), np.float32), x.mean(axis=0).astype(np.float32))
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
    erase = unwhiten @ (u @ u.T) @ whiten
    return Eraser(erase.astype(np.float32), mean.astype(np.float32))


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
    return Eraser((u @ u.T).astype(np.float32), np.zeros(x.shape[1], np.float32))
