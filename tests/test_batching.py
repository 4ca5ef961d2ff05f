"""Micro-batching of query encoding: concurrent callers share model calls and each gets its own vectors."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from search.batching import QueryBatcher
from tests.conftest import HashEmbedder


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if any(t == "boom" for t in texts):
            raise RuntimeError("model failed")
        return super().encode_queries(texts)


def test_concurrent_queries_share_calls_and_get_their_own_vectors() -> None:
    inner = CountingEmbedder()
    batching = QueryBatcher(inner, window_s=0.02)
    texts = [f"query number {i}" for i in range(32)]
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(len(texts))

    def ask(i: int) -> None:
        start.wait()
        results[i] = batching.encode_queries([texts[i]])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    expected = HashEmbedder().encode_queries(texts)
    assert all(np.allclose(results[i][0], expected[i]) for i in range(len(texts)))
    assert inner.calls < len(texts) and batching.batches == inner.calls
    assert batching.dimension == inner.dimension and batching.fingerprint == inner.fingerprint  # says what it is


def test_an_error_reaches_every_caller_of_its_batch_and_nobody_hangs() -> None:
    batching = QueryBatcher(CountingEmbedder(), window_s=0.02)
    errors: list[str] = []

    def ask(text: str) -> None:
        try:
            batching.encode_queries([text])
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=ask, args=(t,)) for t in ("boom", "fine", "also fine")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
        assert not t.is_alive()
    assert "model failed" in errors
    assert np.allclose(batching.encode_queries(["alone"]), HashEmbedder().encode_queries(["alone"]))
    with pytest.raises(RuntimeError):
        batching.encode_queries(["boom"])
