"""Synthetic vectors shaped like real passage embeddings, for index benchmarks at sizes we cannot encode.

Fit: k-means (32 clusters) on real passage vectors from a semsearch index, plus the principal axes of
the residuals around the centroids. Sample: pick a cluster by its weight, add a residual drawn along
those axes with their variances (scaled to the cluster's own spread), normalise. The result keeps
what makes real embeddings hard for ANN search: strong anisotropy (pairwise cosines ~0.7–0.9, not 0),
uneven cluster sizes and a realistic spectrum of within-cluster variance.

``MixtureEmbedder`` and ``synthetic_corpus`` turn a mixture into an index of any size: synthetic articles
whose passages get mixture vectors, while queries are encoded by the real model.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import SEEDS

from index import Embedder, Settings, build_index

WORDS = "market election storm treaty minister court energy river festival vaccine league budget border".split()


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


def real_vectors(index_dir: Path) -> np.ndarray:
    """Raw passage embeddings of an existing semsearch index."""
    from index import open_index

    return np.asarray(open_index(index_dir).rows.raw, dtype=np.float32)


def fit_mixture(index_dir: Path | None) -> Mixture:
    """Fit to an existing index's vectors, or build seeds/ with the real model first."""
    if index_dir is None or not (index_dir / "current").exists():
        index_dir = Path(tempfile.mkdtemp()) / "seeds"
        build_index([SEEDS], Settings.from_env().with_overrides(index_dir=index_dir))
    return Mixture.fit(real_vectors(index_dir))


class MixtureEmbedder:
    """Benchmark-only passage encoder: a deterministic mixture vector per text (the real tokenizer counts)."""

    def __init__(self, real: Embedder, mixture: Mixture) -> None:
        self.real, self.mixture = real, mixture
        self.name, self.source, self.fingerprint = real.name, "benchmark mixture", "benchmark-mixture"
        self.backend, self.notices = real.backend, list[str]()
        self.dimension, self.max_tokens, self.prompt_tokens = real.dimension, real.max_tokens, real.prompt_tokens

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        seeds = [int.from_bytes(hashlib.md5(t.encode()).digest()[:4], "little") for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.vstack([self.mixture.sample(1, seed=s) for s in seeds])

    def encode_passages_pooled(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        from index.embedding import encode_spans_separately

        return encode_spans_separately(self, texts, spans, batch_size)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.real.encode_queries(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.real.count_tokens(texts)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.real.token_spans(text)


class BatchMixtureEmbedder(MixtureEmbedder):
    """synthetic.MixtureEmbedder's vectors drawn a batch at a time, sentence vectors with them from one draw
    (the build calls ``encode_passages_pooled``): one random generator per batch instead of one per passage and
    per sentence (~4 per passage), which took most of a large synthetic build. The real tokenizer still counts."""

    def _draw(self, texts: Sequence[str], n: int) -> np.ndarray:
        first = texts[0].encode() if texts else b""
        seed = int.from_bytes(hashlib.md5(first + str(len(texts)).encode()).digest()[:4], "little")
        return self.mixture.sample(n, seed=seed) if n else np.zeros((0, self.dimension), np.float32)

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        return self._draw(texts, len(texts))

    def encode_passages_pooled(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        drawn = self._draw(texts, len(texts) + sum(len(s) for s in spans))
        pooled, at = [], len(texts)
        for text_spans in spans:
            pooled.append(drawn[at : at + len(text_spans)])
            at += len(text_spans)
        return drawn[: len(texts)], pooled


def synthetic_corpus(path: Path, vectors: int) -> None:
    """Articles of 12 sentences (about 3 passages and a headline each) adding up to ~``vectors`` vectors."""
    rng = np.random.default_rng(0)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(int(vectors / 3.8)):  # ~2.8 passages and a headline per article
            sentences = [" ".join(rng.choice(WORDS, 14)) + f" {i}-{j}." for j in range(12)]
            record = {
                "id": f"s{i}",
                "title": f"Story {i} {rng.choice(WORDS)}",
                "text": " ".join(sentences),
                "lang": "en",
            }
            fh.write(json.dumps(record) + "\n")
