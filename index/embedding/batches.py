"""Batches sized by tokens: passages sorted by length, each batch as large as a padded-token budget allows.

A transformer's cost is the padded batch (count × longest), so grouping similar lengths keeps padding
small, and a token budget keeps batches of short texts large and batches of long ones small.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..settings import ENCODE_TOKEN_BUDGET


def token_batches(lengths: Sequence[int], budget: int, max_count: int = 256) -> list[np.ndarray]:
    """Positions of ``lengths`` in ascending length order, cut into batches whose padded size
    (count × longest) stays within ``budget`` (a longer text than the budget gets a batch of its own)."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    for end in range(1, len(order) + 1):
        longest = max(1, int(lengths[order[end - 1]]))
        if end - start > 1 and ((end - start) * longest > budget or end - start > max_count):
            batches.append(order[start : end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


def batch_size(count: int, longest: int, prompt_tokens: int, budget: int = ENCODE_TOKEN_BUDGET) -> int:
    """Texts per batch for a call of ``count`` texts of at most ``longest`` tokens (plus the prompt and the
    two special tokens), so that a batch stays within ``budget`` padded tokens; at least one."""
    return max(1, min(count, budget // (longest + prompt_tokens + 2)))
