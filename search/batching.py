"""Micro-batching of query encoding: queries that arrive together go through the model in one call.

A model call has a fixed cost (tokenising, launching the forward pass) that a batch shares, and on a
CPU a batch of short queries costs little more than one. The first caller to arrive leads: it waits up
to WINDOW_S for others, takes every query queued by then (at most MAX_BATCH), encodes them at once and
hands each caller its vector. A caller alone waits WINDOW_S at most. No thread of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from index import QueryEncoder
from search.encoding import QueryEncoderLayer

WINDOW_S = 0.003
MAX_BATCH = 64


@dataclass
class _Request:
    texts: list[str]
    wake: threading.Event = field(default_factory=threading.Event)  # set when done, or when it must lead
    leads: bool = False
    finished: bool = False
    vectors: np.ndarray | None = None
    error: BaseException | None = None


class QueryBatcher(QueryEncoderLayer):
    """A query encoder whose ``encode_queries`` batches concurrent callers."""

    def __init__(self, inner: QueryEncoder, window_s: float = WINDOW_S, max_batch: int = MAX_BATCH) -> None:
        super().__init__(inner)
        self._window = window_s
        self._max = max_batch
        self._queue: list[_Request] = []
        self._lock = threading.Lock()
        self._leading = False
        self.batches = 0  # model calls made, for measuring what batching buys

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, encoded together with whatever other callers sent meanwhile."""
        request = _Request(list(texts))
        with self._lock:
            self._queue.append(request)
            if not self._leading:
                self._leading = request.leads = True
        while not request.finished:
            if request.leads:
                request.leads = False
                self._run_batch()
            else:
                request.wake.wait()
                request.wake.clear()
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def _run_batch(self) -> None:
        """Encode the queued requests (the leader's first), then hand the lead to the next one waiting."""
        time.sleep(self._window)
        with self._lock:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
        try:
            vectors = self.inner.encode_queries([t for r in batch for t in r.texts])
            self.batches += 1
            position = 0
            for r in batch:
                r.vectors = vectors[position : position + len(r.texts)]
                position += len(r.texts)
        except BaseException as exc:  # every caller of the batch gets the error; none hangs
            for r in batch:
                r.error = exc
        for r in batch:
            r.finished = True
            r.wake.set()
        with self._lock:
            if self._queue:
                self._queue[0].leads = True
                self._queue[0].wake.set()
            else:
                self._leading = False
