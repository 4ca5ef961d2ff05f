"""Mean pooling of token vectors: over a whole text (the passage vector) and over character spans of it
(sentence vectors read in the passage's context, from the same forward pass)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(batch, dim) normalised means of ``hidden`` (batch, length, dim) over the tokens ``mask`` keeps."""
    weights = mask[..., None].astype(np.float32)
    return normalise((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9))


def span_vectors(
    tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]], shift: int, fallback: np.ndarray
) -> np.ndarray:
    """One normalised vector per character span: the mean of the tokens that start inside it.

    ``tokens`` are one text's token vectors (padding removed), ``offsets`` their character spans in the
    encoded string, which is the text with ``shift`` characters of prompt before it; a span with no token
    (cut off by truncation) gets ``fallback``, the passage vector.
    """
    offsets = offsets[: len(tokens)]  # the model truncated: keep what it saw
    real = offsets[:, 1] > offsets[:, 0]
    rows = []
    for start, end in spans:
        inside = real & (offsets[:, 0] >= start + shift) & (offsets[:, 0] < end + shift)
        rows.append(tokens[inside].mean(axis=0) if inside.any() else fallback)
    return normalise(np.array(rows, dtype=np.float32).reshape(-1, len(fallback)))
