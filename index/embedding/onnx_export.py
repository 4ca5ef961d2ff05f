"""Export a sentence-transformers model to ONNX, once, into a folder of its own: quantised to int8 (the fast
encoder), or fp32 (the query encoder of a ``torch-fp32`` index: the same weights without torch).

The export runs the model's own torch weights through ``torch.onnx.export`` (eager attention, so ONNX
Runtime's transformer optimiser can fuse attention, layer norms and GELU), then quantises every MatMul
dynamically to int8 **per output channel** (per-tensor scales cost about three points of retrieval on
this model, per-channel under one). Weights of 8-bit matmuls are stored signed; activations unsigned.
On CPUs without VNNI instructions the weights are quantised to 7 bits (``reduce_range``) so the
u8×s8 products cannot saturate, as ONNX Runtime advises.

The fp32 export stops before quantising and also keeps ONNX Runtime's own optimised graph
(``model.opt.onnx``, written by a session with ``optimized_model_filepath``), so a query process starts
its session without optimising again.

The folder holds ``model.onnx``, ``tokenizer.json`` and ``semsearch_onnx.json`` (what it was exported
from and how, with the sizes of its files), so the ONNX encoders load without torch. It is written under a temporary name and
renamed into place: a folder that exists is complete. A failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from ..errors import SemsearchError

META_FILE = "semsearch_onnx.json"
MODEL_FILE = "model.onnx"
OPTIMISED_FILE = "model.opt.onnx"
TOKENIZER_FILE = "tokenizer.json"
EXPORT_FORMAT = 1
INT8: Final = "int8"
FP32: Final = "fp32"
_OPSET = 17


class ExportError(SemsearchError):
    """The model could not be exported; the caller falls back to the fp32 encoder."""


def export_folder(models_dir: Path, fingerprint: str, precision: str = INT8) -> Path:
    """Where the ``precision`` (int8 or fp32) export of the weights with this fingerprint lives."""
    return models_dir / f"onnx-{precision}" / fingerprint.replace(":", "-")


def read_meta(folder: Path) -> dict[str, Any] | None:
    """The export's description, or None when the folder is missing or incomplete."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        size = (folder / MODEL_FILE).stat().st_size
    except (OSError, ValueError):
        return None
    if meta.get("format") != EXPORT_FORMAT or meta.get("model_bytes") != size:
        return None
    for name, recorded in (meta.get("file_bytes") or {}).items():  # the fp32 export records every file's size
        if not (folder / name).is_file() or (folder / name).stat().st_size != recorded:
            return None
    return dict(meta)


def export_int8(model: Any, fingerprint: str, name: str, target: Path) -> Path:
    """Export the loaded SentenceTransformer ``model`` to ``target`` (int8 ONNX); returns ``target``.

    Raises ExportError on any failure, with nothing written at ``target``.
    """
    return export(model, fingerprint, name, target, INT8)


def export(model: Any, fingerprint: str, name: str, target: Path, precision: str, *, replace: bool = False) -> Path:
    """Export the loaded SentenceTransformer ``model`` to ``target`` as ``precision`` (int8 or fp32) ONNX;
    ``replace``: export again even over a complete-looking folder (its files were found damaged).

    Raises ExportError on any failure, with nothing written at ``target``.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.parent / f"{target.name}.lock"):
        if not replace and read_meta(target) is not None:  # another process exported it while we waited
            return target
        work = target.parent / f".{target.name}.tmp-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        try:
            with _quiet():
                meta = _export(model, fingerprint, name, work, precision)
            (work / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
            shutil.rmtree(target, ignore_errors=True)  # an incomplete folder from an older crash
            os.replace(work, target)
        except BaseException as exc:
            shutil.rmtree(work, ignore_errors=True)
            if isinstance(exc, ExportError | KeyboardInterrupt | SystemExit):
                raise
            raise ExportError(f"Exporting {name} to ONNX {precision} failed: {type(exc).__name__}: {exc}") from exc
    return target


def _export(model: Any, fingerprint: str, name: str, work: Path, precision: str) -> dict[str, Any]:
    import onnx
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    transformer, pooling = model[0], model[1] if len(model) > 1 else None
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6; 5 has one flag per mode
    mean = mode == "mean" or mode == ["mean"] or bool(getattr(pooling, "pooling_mode_mean_tokens", False))
    if pooling is None or not mean or not getattr(pooling, "include_prompt", True):
        raise ExportError(
            f"{name} does not use mean pooling over all tokens; the ONNX encoders support such models only."
        )
    auto = getattr(transformer, "auto_model", None) or transformer.model
    config = auto.config
    if hasattr(auto, "set_attn_implementation"):
        with contextlib.suppress(Exception):  # eager attention exports to a graph the optimiser can fuse
            auto.set_attn_implementation("eager")

    class Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    raw = work / "fp32.onnx"
    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Hidden(auto.eval()), example, str(raw), input_names=["input_ids", "attention_mask"],
            output_names=["token_embeddings"], opset_version=_OPSET, dynamo=False,
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_embeddings": axes},
        )  # fmt: skip
    fused = _optimise(raw, work / "fused.onnx", config)
    if precision == FP32:
        os.replace(fused, work / MODEL_FILE)
        quantisation: dict[str, Any] | None = None
    else:
        reduce_range = not _has_vnni()
        quantize_dynamic(
            str(fused), str(work / MODEL_FILE), per_channel=True, reduce_range=reduce_range,
            weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip
        quantisation = {"weights": "int8", "per_channel": True, "reduce_range": reduce_range, "ops": ["MatMul"]}
    for leftover in work.glob("*.onnx*"):
        if leftover.name != MODEL_FILE:
            leftover.unlink()
    (work / TOKENIZER_FILE).write_text(model.tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
    files = [MODEL_FILE, TOKENIZER_FILE]
    if precision == FP32:  # ONNX Runtime's own optimisations, done once here rather than by every query process
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(work / OPTIMISED_FILE)
        onnxruntime.InferenceSession(str(work / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        files.append(OPTIMISED_FILE)
    return {
        "format": EXPORT_FORMAT,
        "name": name,
        "fingerprint": fingerprint,
        "dimension": int(config.hidden_size),
        "max_seq_length": int(model.max_seq_length),
        "prompts": dict(model.prompts or {}),
        "pooling": "mean",
        "precision": precision,
        "quantisation": quantisation,
        "fused": fused.name == "fused.onnx",
        "onnxruntime": onnxruntime.__version__,
        "model_bytes": (work / MODEL_FILE).stat().st_size,
        "file_bytes": {f: (work / f).stat().st_size for f in files},
    }


def _optimise(raw: Path, out: Path, config: Any) -> Path:
    """Fuse attention, layer norms and GELU for BERT-like encoders; the unfused graph when that fails."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        optimised = optimize_model(
            str(raw), model_type="bert", num_heads=int(config.num_attention_heads),
            hidden_size=int(config.hidden_size), opt_level=1,
        )  # fmt: skip
        optimised.save_model_to_file(str(out))
        return out
    except Exception:  # an architecture the optimiser does not know: quantise the plain graph
        return raw


def _has_vnni() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # not Linux: ONNX Runtime's default
    return "avx512_vnni" in flags or "avx_vnni" in flags or "amx" in flags


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The tracer's and quantiser's advice is for their developers, not for someone building an index."""
    import logging
    import warnings

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    import fcntl

    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
