"""Synthetic vectors shaped like real passage embeddings, for index benchmarks at sizes we cannot encode.

Fit: k-means (32 clusters) on real passage vectors from a semsearch index, plus the principal axes of
the residuals around the centroids. Sample: pick a cluster by its weight, add a residual drawn along
those axes with their variances (scaled to the cluster's own spread), normalise. The result keeps
what makes real embeddings hard for ANN search: strong anisotropy (pairwise cosines ~0.7–0.9, not 0),
uneven cluster sizes and a realistic spectrum of within-cluster variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mixture:
    """A fitted mixture: centroids, weights, per-cluster spread, residual axes and their scales."""

    centroids: np.ndarray
    weights: np.ndarray
    spread: np.ndarray
    axes: np.ndarray
    scales: np.ndarray

    @classmethod
    def fit(cls, vectors: np.ndarray, clusters: int = 32, seed: int = 0) -> Mixture:
        """Fit to real vectors (n, d)."""
        import faiss

        x = np.ascontiguousarray(vectors, dtype=np.float32)
        clusters = max(2, min(clusters, len(x) // 8))
        km = faiss.Kmeans(x.shape[1], clusters, niter=25, seed=seed, spherical=True)
        km.train(x)
        _, assign = km.index.search(x, 1)
        assign = assign[:, 0]
        residual = x - km.centroids[assign]
        _, s, vt = np.linalg.svd(residual - residual.mean(0), full_matrices=False)
        scales = s / np.sqrt(len(x))
        rms = np.sqrt((residual**2).sum(1))
        spread = np.array([rms[assign == c].mean() if (assign == c).any() else rms.mean() for c in range(clusters)])
        weights = np.bincount(assign, minlength=clusters).astype(np.float64)
        return cls(km.centroids.copy(), weights / weights.sum(), spread / rms.mean(), vt, scales)

    def sample(self, n: int, seed: int) -> np.ndarray:
        """n unit vectors, float32, generated in blocks to bound memory."""
        rng = np.random.default_rng(seed)
        d = self.centroids.shape[1]
        out = np.empty((n, d), dtype=np.float32)
        for start in range(0, n, 50_000):
            m = min(50_000, n - start)
            c = rng.choice(len(self.weights), size=m, p=self.weights)
            z = rng.standard_normal((m, len(self.scales))).astype(np.float32) * self.scales
            x = self.centroids[c] + (z @ self.axes) * self.spread[c, None]
            out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out


def real_vectors(index_dir) -> np.ndarray:
    """Raw passage embeddings of an existing semsearch index."""
    from index import open_index

    return np.asarray(open_index(index_dir).rows.raw, dtype=np.float32)
