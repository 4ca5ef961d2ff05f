"""A multi-process encode pool: on a machine with many cores, several encoder processes, each with its
share of the cores, beat one process whose threads stop scaling (the matrices of a 384-wide model are
too small to split well over many threads). Each worker loads the encoder once and encodes its share of every call.

``encode_workers`` decides how many; on this project's 2-core machines it is one, and the pool is not
used at all (the build encodes in-process).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import SemsearchError
from .backends import TORCH_FP16_CUDA

if TYPE_CHECKING:
    from . import Embedder

Factory = Callable[..., Any]  # factory(threads=N) -> an Embedder; picklable (a module-level function or partial)


def encode_workers(requested: int, backend: str, cores: int, threads_per_worker: int) -> tuple[int, int]:
    """(worker processes, threads each) for ``requested`` workers (0 = automatic) on ``cores`` cores.

    One GPU is one device: its backend always runs in-process. Automatic: one worker per
    ``threads_per_worker`` cores, at least one. An explicit count is capped at the cores.
    """
    if backend == TORCH_FP16_CUDA:
        return 1, cores
    workers = requested if requested > 0 else cores // threads_per_worker
    workers = max(1, min(workers, cores))
    return workers, max(1, cores // workers)


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _work(factory: Factory, threads: int, inbox: Any, outbox: Any) -> None:
    """A worker's loop: load the encoder once, then encode (texts, spans) jobs until told to stop."""
    try:
        embedder = factory(threads=threads)
        outbox.put(("ready", None))
    except BaseException as exc:  # reported to the parent, which raises it there
        outbox.put(("error", f"{type(exc).__name__}: {exc}"))
        return
    while (job := inbox.get()) is not None:
        texts, spans, batch_size = job
        try:
            outbox.put(("done", embedder.encode_passages_pooled(texts, spans, batch_size)))
        except BaseException as exc:
            outbox.put(("error", f"{type(exc).__name__}: {exc}"))


class EncodePool:
    """``encode_passages_pooled`` spread over worker processes; everything else answered by ``local``."""

    def __init__(self, local: Embedder, factory: Factory, workers: int, threads: int) -> None:
        self._local = local
        context = mp.get_context("spawn")  # no fork: torch and ONNX Runtime thread pools do not survive it
        self._queues = [(context.Queue(), context.Queue()) for _ in range(workers)]
        self._processes = [
            context.Process(target=_work, args=(factory, threads, inbox, outbox), daemon=True)
            for inbox, outbox in self._queues
        ]
        for process in self._processes:
            process.start()
        for _, outbox in self._queues:
            self._receive(outbox)
        # what it is, as the local embedder says: the workers run the same model on the same backend
        self.name, self.source, self.fingerprint = local.name, local.source, local.fingerprint
        self.backend, self.dimension, self.notices = local.backend, local.dimension, local.notices
        self.max_tokens, self.prompt_tokens = local.max_tokens, local.prompt_tokens

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Passage vectors, from the local embedder (the workers take the pooled calls of a build)."""
        return self._local.encode_passages(texts, batch_size)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors, from the local embedder (a few short texts: not worth a round trip)."""
        return self._local.encode_queries(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, by the local embedder's tokenizer."""
        return self._local.count_tokens(texts)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of each token, by the local embedder's tokenizer."""
        return self._local.token_spans(text)

    @property
    def workers(self) -> int:
        """Worker processes."""
        return len(self._processes)

    def encode_passages_pooled(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Split the call into one contiguous share per worker, encode them at once, join in order."""
        bounds = np.linspace(0, len(texts), len(self._queues) + 1).astype(int)
        used = []
        for (inbox, outbox), start, end in zip(self._queues, bounds[:-1], bounds[1:]):
            if end > start:
                inbox.put((list(texts[start:end]), [list(s) for s in spans[start:end]], batch_size))
                used.append(outbox)
        vectors, pooled = [], []
        for outbox in used:
            v, p = self._receive(outbox)
            vectors.append(v)
            pooled.extend(p)
        dim = int(self._local.dimension)
        return (np.vstack(vectors) if vectors else np.zeros((0, dim), np.float32)), pooled

    def _receive(self, outbox: Any) -> Any:
        import queue

        while True:
            try:
                kind, payload = outbox.get(timeout=5)
                break
            except queue.Empty:
                if not all(p.is_alive() for p in self._processes):
                    self.close()
                    raise SemsearchError(
                        "An encode worker process died (out of memory?). Retry with --workers 1."
                    ) from None
        if kind == "error":
            self.close()
            raise SemsearchError(f"An encode worker failed: {payload}. Retry with --workers 1.")
        return payload

    def close(self) -> None:
        """Stop the workers."""
        for (inbox, _), process in zip(self._queues, self._processes):
            if process.is_alive():
                inbox.put(None)
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
