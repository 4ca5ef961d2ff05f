"""The ONNX encoders: the int8 (fast) or fp32 export of a model, run by ONNX Runtime with the ``tokenizers``
library.

No torch or transformers at run time: the folder written by ``onnx_export`` holds the graph (for fp32 also
ONNX Runtime's optimised graph, loaded as it is), the tokenizer in its fast serialised form (read once per
encoder) and the model's prompts, sequence limit and pooling. Batches are cut by padded tokens (``batches.token_batches``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SemsearchError
from ..settings import ONNX_ENCODE_TOKEN_BUDGET
from .backends import ONNX_FP32, ONNX_INT8
from .batches import token_batches
from .onnx_export import FP32, MODEL_FILE, OPTIMISED_FILE, TOKENIZER_FILE
from .pooling import mean_pool, span_vectors

_PASSAGE = "passage"
_QUERY = "query"


class DamagedExportError(SemsearchError):
    """An export's graph or tokenizer does not load; the caller exports it again."""


class OnnxEmbedder:
    """An exported ONNX model with its tokenizer; implements the ``Embedder`` interface."""

    def __init__(self, folder: Path, meta: dict[str, Any], source: str, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        fp32 = meta.get("precision") == FP32
        self.backend = ONNX_FP32 if fp32 else ONNX_INT8
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        graph = folder / MODEL_FILE
        if fp32 and (folder / OPTIMISED_FILE).is_file():  # optimised once at export: no need to do it again
            graph = folder / OPTIMISED_FILE
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        self._folder = folder
        try:
            # the tokenizer (a 250k-piece vocabulary) and the session load side by side: ~0.3 s less to start
            with ThreadPoolExecutor(1) as pool:
                tokenizer = pool.submit(Tokenizer.from_file, str(folder / TOKENIZER_FILE))
                self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
                self._encoder = tokenizer.result()
        except Exception as exc:  # ONNX Runtime and tokenizers raise their own kinds for a damaged file
            raise DamagedExportError(f"The ONNX export at {folder} is damaged ({type(exc).__name__}: {exc})") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.max_tokens = int(meta["max_seq_length"])
        self._encoder.no_padding()
        self._encoder.enable_truncation(self.max_tokens)
        self._counter_tokenizer: Any = None  # for counting (no truncation), made when first needed
        self._pad = int(self._encoder.token_to_id("<pad>") or 0)
        self._lock = threading.Lock()  # one run at a time: the session already uses every thread
        prompts = meta.get("prompts") or {}
        self._passage_prefix = str(prompts.get(_PASSAGE, ""))
        self._query_prefix = str(prompts.get(_QUERY, ""))
        self.name = str(meta["name"])
        self.source = source
        self.fingerprint = str(meta["fingerprint"])
        self.dimension = int(meta["dimension"])
        # the prompt is short: the truncating tokenizer counts it as well as the counting one
        prefix = self._passage_prefix
        self.prompt_tokens = len(self._encoder.encode(prefix, add_special_tokens=False).ids) if prefix else 0
        self.notices: list[str] = []

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Passage vectors."""
        return self._encode(texts, self._passage_prefix, None)[0]

    def encode_passages_pooled(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, per passage, one vector per character span from the same forward pass."""
        return self._encode(texts, self._passage_prefix, spans)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors."""
        return self._encode(texts, self._query_prefix, None)[0]

    def _encode(
        self, texts: Sequence[str], prefix: str, spans: Sequence[Sequence[tuple[int, int]]] | None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, self.dimension), np.float32)] * len(texts)
        if not texts:
            return vectors, pooled
        encodings = self._encoder.encode_batch([prefix + t for t in texts])
        for batch in token_batches([len(e.ids) for e in encodings], ONNX_ENCODE_TOKEN_BUDGET):
            rows = [encodings[i] for i in batch.tolist()]
            longest = max(len(e.ids) for e in rows)
            ids = np.full((len(rows), longest), self._pad, dtype=np.int64)
            mask = np.zeros((len(rows), longest), dtype=np.int64)
            for r, e in enumerate(rows):
                ids[r, : len(e.ids)] = e.ids
                mask[r, : len(e.ids)] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            with self._lock:
                hidden = self._session.run(None, feed)[0]
            vectors[batch] = mean_pool(hidden, mask)
            if spans is not None:
                for r, (i, e) in enumerate(zip(batch.tolist(), rows)):
                    offsets = np.array(e.offsets, dtype=np.int64).reshape(-1, 2)
                    pooled[i] = span_vectors(hidden[r, : len(e.ids)], offsets, spans[i], len(prefix), vectors[i])
        return vectors, pooled

    @property
    def _counter(self) -> Any:
        """A copy of the tokenizer without truncation (queries never need it; counting passages does)."""
        if self._counter_tokenizer is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_str(self._encoder.to_str())
            counter.no_padding()
            counter.no_truncation()
            self._counter_tokenizer = counter
        return self._counter_tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts, specials excluded."""
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``text``."""
        return [(int(a), int(b)) for a, b in self._counter.encode(text, add_special_tokens=False).offsets]
