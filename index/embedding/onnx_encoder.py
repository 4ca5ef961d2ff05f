"""The ONNX encoders: the int8 (fast) or fp32 export of a model, run by ONNX Runtime with the ``tokenizers``
library.

No torch or transformers at run time: the folder written by ``onnx_export`` holds the graph (for fp32
ONNX Runtime's optimised graph, loaded as it is, with its word-embedding table beside it as a memory-mapped
array whose rows a batch needs are gathered and fed to the graph), the tokenizer in its fast serialised form (read once per
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
from .onnx_export import (
    EMBEDDINGS_FILE,
    EMBEDDINGS_INPUT,
    FP32,
    MODEL_FILE,
    OPTIMISED_FILE,
    QUERY_READY,
    SPLIT_FILE,
    TOKENIZER_FILE,
    prepare_for_queries,
)
from .onnx_query_tokens import QUERY_FILES, QueryTokenizer
from .pooling import mean_pool, span_vectors

_PASSAGE = "passage"
_QUERY = "query"
# Up to this many characters a batch of queries is tokenised without the full tokenizer (~1 ms a query);
# beyond, loading the full one once (~0.8 s) costs less than segmenting in Python.
_QUICK_CHARACTERS = 50_000


class DamagedExportError(SemsearchError):
    """An export's graph or tokenizer does not load; the caller exports it again."""


class OnnxEmbedder:
    """An exported ONNX model with its tokenizer; implements the ``Embedder`` interface."""

    def __init__(self, folder: Path, meta: dict[str, Any], source: str, threads: int | None = None) -> None:
        import onnxruntime as ort

        fp32 = meta.get("precision") == FP32
        self.backend = ONNX_FP32 if fp32 else ONNX_INT8
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        graph = folder / MODEL_FILE
        if fp32 and not meta.get(QUERY_READY):
            meta = prepare_for_queries(folder) or meta  # an export made before the split: give it that, once
        files = meta.get("file_bytes") or {}
        if fp32 and SPLIT_FILE in files:
            graph = folder / SPLIT_FILE
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        elif fp32 and (folder / OPTIMISED_FILE).is_file():  # optimised once at export: no need to do it again
            graph = folder / OPTIMISED_FILE
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        self._folder = folder
        self.max_tokens = int(meta["max_seq_length"])
        self._table: np.ndarray | None = None  # the word-embedding table, when it lives outside the graph
        self._queries: QueryTokenizer | None = None  # queries tokenised without the full tokenizer
        self._full: Any = None  # the full tokenizer: loaded here, or when a passage first needs it
        try:
            if graph.name == SPLIT_FILE:
                self._table = np.load(folder / EMBEDDINGS_FILE, mmap_mode="r", allow_pickle=False)
                if self._table.ndim != 2 or self._table.dtype != np.float32:
                    raise ValueError(f"{EMBEDDINGS_FILE} holds {self._table.dtype} {self._table.shape}")
            if all(name in files for name in QUERY_FILES):
                self._queries = QueryTokenizer(folder, self.max_tokens)
                _check_json_head(folder / TOKENIZER_FILE)  # read in full only for passages: its head, now
                self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            else:  # the tokenizer (a 250k-piece vocabulary) and the session load side by side: ~0.3 s less
                with ThreadPoolExecutor(1) as pool:
                    tokenizer = pool.submit(self._load_full)
                    self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
                    tokenizer.result()
        except Exception as exc:  # ONNX Runtime and tokenizers raise their own kinds for a damaged file
            raise DamagedExportError(f"The ONNX export at {folder} is damaged ({type(exc).__name__}: {exc})") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._counter_tokenizer: Any = None  # for counting (no truncation), made when first needed
        shell: Any = self._queries.shell if self._queries is not None else self._full
        self._pad = int(shell.token_to_id("<pad>") or 0)
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
        counted = self._queries.content_ids(prefix) if self._queries is not None and prefix else None
        if counted is None and prefix:
            counted = self._encoder.encode(prefix, add_special_tokens=False).ids
        self.prompt_tokens = len(counted or [])
        self.notices: list[str] = []

    def _load_full(self) -> Any:
        from tokenizers import Tokenizer

        full = Tokenizer.from_file(str(self._folder / TOKENIZER_FILE))
        full.no_padding()
        full.enable_truncation(self.max_tokens)
        self._full = full
        return full

    @property
    def _encoder(self) -> Any:
        """The full tokenizer (truncating), loaded once."""
        if self._full is None:
            try:
                self._load_full()
            except Exception as exc:
                raise DamagedExportError(
                    f"The ONNX export's tokenizer at {self._folder} is damaged ({type(exc).__name__}: {exc}); "
                    "delete that folder and run again to export it afresh."
                ) from exc
        return self._full

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
        return self._encode(texts, self._query_prefix, None, queries=True)[0]

    def _encode(
        self,
        texts: Sequence[str],
        prefix: str,
        spans: Sequence[Sequence[tuple[int, int]]] | None,
        *,
        queries: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[np.ndarray] = [np.zeros((0, self.dimension), np.float32)] * len(texts)
        if not texts:
            return vectors, pooled
        token_ids = self._query_ids([prefix + t for t in texts]) if queries else None
        encodings = self._encoder.encode_batch([prefix + t for t in texts]) if token_ids is None else []
        if token_ids is None:
            token_ids = [e.ids for e in encodings]
        for batch in token_batches([len(t) for t in token_ids], ONNX_ENCODE_TOKEN_BUDGET):
            rows = [token_ids[i] for i in batch.tolist()]
            longest = max(len(t) for t in rows)
            ids = np.full((len(rows), longest), self._pad, dtype=np.int64)
            mask = np.zeros((len(rows), longest), dtype=np.int64)
            for r, t in enumerate(rows):
                ids[r, : len(t)] = t
                mask[r, : len(t)] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if self._table is not None:  # the batch's rows of the table, and its ids as positions among them
                rows_needed, positions = np.unique(ids, return_inverse=True)
                feed["input_ids"] = positions.reshape(ids.shape).astype(np.int64)
                feed[EMBEDDINGS_INPUT] = np.ascontiguousarray(self._table[rows_needed])
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            with self._lock:
                hidden = self._session.run(None, feed)[0]
            vectors[batch] = mean_pool(hidden, mask)
            if spans is not None:
                for r, i in enumerate(batch.tolist()):
                    e = encodings[i]
                    offsets = np.array(e.offsets, dtype=np.int64).reshape(-1, 2)
                    pooled[i] = span_vectors(hidden[r, : len(e.ids)], offsets, spans[i], len(prefix), vectors[i])
        return vectors, pooled

    def _query_ids(self, texts: list[str]) -> list[list[int]] | None:
        """Token ids of short texts without the full tokenizer; None when it is needed after all."""
        if self._queries is None or sum(map(len, texts)) > _QUICK_CHARACTERS:
            return None
        ids = [self._queries.encode(t) for t in texts]
        found = [i for i in ids if i is not None]
        return found if len(found) == len(ids) else None

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


def _check_json_head(path: Path) -> None:
    """Refuse a JSON file whose first bytes are not JSON (a cheap check of a file read in full only later)."""
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
    if not head.startswith(b"{"):
        raise ValueError(f"{path.name} does not start as JSON")
