"""Export a sentence-transformers model to ONNX, once, into a folder of its own: quantised to int8 (the fast
encoder), or fp32 (the query encoder of a ``torch-fp32`` index: the same weights without torch).

The export runs the model's own torch weights through ``torch.onnx.export`` (eager attention, so ONNX
Runtime's transformer optimiser can fuse attention, layer norms and GELU), then quantises every MatMul
dynamically to int8 **per output channel** (per-tensor scales cost about three points of retrieval on
this model, per-channel under one). Weights of 8-bit matmuls are stored signed; activations unsigned.
On CPUs without VNNI instructions the weights are quantised to 7 bits (``reduce_range``) so the
u8×s8 products cannot saturate, as ONNX Runtime advises.

The fp32 export stops before quantising and also keeps ONNX Runtime's own optimised graph (written by a
session with ``optimized_model_filepath``), so a query process starts its session without optimising again.
That graph is kept split in two (``_split``): the 250k x 384 word-embedding table (384 of its
470 MB) as a ``.npy`` file that the encoder memory-maps and gathers the batch's rows from, and the rest
(``model.split.onnx``, ~86 MB), whose lookup reads the gathered rows as an input. A session then loads
~86 MB instead of 470 (~0.9 s less to start) and a query touches a few kB of the table.
Beside it, the tokenizer's pieces as sorted arrays (``onnx_query_tokens``), so a query is tokenised without
building the 250k-piece model (~0.8 s). An fp32 export made before these existed is given them at its first
use (``prepare_for_queries``).

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
SPLIT_FILE = "model.split.onnx"
EMBEDDINGS_FILE = "word_embeddings.npy"
# The split graph's input holding the batch's word-embedding rows, which its input_ids then index.
EMBEDDINGS_INPUT = "word_embeddings"
# Recorded once an fp32 export has been given what makes a query start fast (whatever its model allowed).
QUERY_READY = "query_ready"
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
    """Write the export's files into ``work``; returns its description (``META_FILE``)."""
    # every library the export needs, before any work: a missing one fails it at once
    import onnx  # noqa: F401
    import onnxruntime
    import torch  # noqa: F401

    transformer = _mean_pooled_transformer(model, name)
    fused = _optimise(_to_onnx(transformer, work / "fp32.onnx"), work / "fused.onnx", transformer.config)
    if precision == FP32:
        os.replace(fused, work / MODEL_FILE)
        quantisation: dict[str, Any] | None = None
    else:
        quantisation = _quantise(fused, work / MODEL_FILE)
    for leftover in work.glob("*.onnx*"):
        if leftover.name != MODEL_FILE:
            leftover.unlink()
    (work / TOKENIZER_FILE).write_text(model.tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
    files = [MODEL_FILE, TOKENIZER_FILE]
    if precision == FP32:
        files += _optimise_for_queries(work)
    return {
        "format": EXPORT_FORMAT,
        "name": name,
        "fingerprint": fingerprint,
        "dimension": int(transformer.config.hidden_size),
        "max_seq_length": int(model.max_seq_length),
        "prompts": dict(model.prompts or {}),
        "pooling": "mean",
        "precision": precision,
        "quantisation": quantisation,
        "fused": fused.name == "fused.onnx",
        "onnxruntime": onnxruntime.__version__,
        "model_bytes": (work / MODEL_FILE).stat().st_size,
        "file_bytes": {f: (work / f).stat().st_size for f in files},
        QUERY_READY: precision == FP32,
    }


def _mean_pooled_transformer(model: Any, name: str) -> Any:
    """The transformer of a SentenceTransformer that mean-pools all its tokens (the only kind the ONNX encoders
    support), set to eager attention."""
    transformer, pooling = model[0], model[1] if len(model) > 1 else None
    mode = getattr(pooling, "pooling_mode", None)  # sentence-transformers 6; 5 has one flag per mode
    mean = mode == "mean" or mode == ["mean"] or bool(getattr(pooling, "pooling_mode_mean_tokens", False))
    if pooling is None or not mean or not getattr(pooling, "include_prompt", True):
        raise ExportError(
            f"{name} does not use mean pooling over all tokens; the ONNX encoders support such models only."
        )
    auto = getattr(transformer, "auto_model", None) or transformer.model
    if hasattr(auto, "set_attn_implementation"):
        with contextlib.suppress(Exception):  # eager attention exports to a graph the optimiser can fuse
            auto.set_attn_implementation("eager")
    return auto


def _to_onnx(transformer: Any, target: Path) -> Path:
    """Export the transformer's token embeddings (the last hidden state) to an fp32 ONNX graph at ``target``."""
    import torch

    class Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Hidden(transformer.eval()), example, str(target), input_names=["input_ids", "attention_mask"],
            output_names=["token_embeddings"], opset_version=_OPSET, dynamo=False,
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_embeddings": axes},
        )  # fmt: skip
    return target


def _quantise(graph: Path, target: Path) -> dict[str, Any]:
    """Quantise every MatMul of ``graph`` to int8 per output channel into ``target``; returns how."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    reduce_range = not _has_vnni()
    quantize_dynamic(
        str(graph), str(target), per_channel=True, reduce_range=reduce_range,
        weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )  # fmt: skip
    return {"weights": "int8", "per_channel": True, "reduce_range": reduce_range, "ops": ["MatMul"]}


def _optimise_for_queries(work: Path) -> list[str]:
    """ONNX Runtime's own optimisations of the fp32 model, done once here rather than by every query process,
    kept split with the query vocabulary (``_prepare``); returns the files added."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(work / OPTIMISED_FILE)
    onnxruntime.InferenceSession(str(work / MODEL_FILE), options, providers=["CPUExecutionProvider"])
    added = _prepare(work / OPTIMISED_FILE, (work / TOKENIZER_FILE).read_text(encoding="utf-8"), work)
    if SPLIT_FILE in added:
        (work / OPTIMISED_FILE).unlink()
        return added
    return [*added, OPTIMISED_FILE]


def prepare_for_queries(folder: Path) -> dict[str, Any] | None:
    """Give an fp32 export made before these existed its split graph and its query vocabulary (see the
    module's docstring), once, in place; returns the export's description (None when it is unreadable).
    Where the folder cannot be written (a read-only home, a full disk) the export stays as it was."""
    try:
        with _lock(folder.parent / f"{folder.name}.lock"):
            return _prepare_in_place(folder)
    except OSError:
        return read_meta(folder)


def _prepare_in_place(folder: Path) -> dict[str, Any] | None:
    current = read_meta(folder)
    if current is None or current.get("precision") != FP32 or current.get(QUERY_READY):
        return current  # another process did it while we waited
    work = folder / f".prepare.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        files = dict(current.get("file_bytes") or {})
        added = _prepare(folder / OPTIMISED_FILE, (folder / TOKENIZER_FILE).read_text(encoding="utf-8"), work)
        for name in added:
            os.replace(work / name, folder / name)
            files[name] = (folder / name).stat().st_size
        if SPLIT_FILE in added:
            files.pop(OPTIMISED_FILE, None)
        updated = {**current, "file_bytes": files, QUERY_READY: True}
        (work / META_FILE).write_text(json.dumps(updated, indent=2), encoding="utf-8")
        os.replace(work / META_FILE, folder / META_FILE)  # recorded once its files are in place
        if SPLIT_FILE in added:
            (folder / OPTIMISED_FILE).unlink()
        return updated
    except ValueError:  # a tokenizer.json that does not parse: the encoder finds it damaged
        return current
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _prepare(graph: Path, tokenizer_json: str, work: Path) -> list[str]:
    """Write the split graph of ``graph`` and the query vocabulary into ``work``; the names of what was written."""
    from .onnx_query_tokens import QUERY_FILES, write_query_vocab

    added = [SPLIT_FILE, EMBEDDINGS_FILE] if graph.is_file() and _split(graph, work) else []
    return added + (list(QUERY_FILES) if write_query_vocab(tokenizer_json, work) else [])


def _split(graph: Path, out: Path) -> bool:
    """Write ``graph`` as SPLIT_FILE (its word-embedding table an input) and EMBEDDINGS_FILE (the table) into
    ``out``; False, writing nothing, when the table is not looked up by input_ids alone."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(graph))
    nodes = model.graph.node
    # input_ids reach the lookup directly or through a Cast; anything else that reads their values (a position
    # computed from the padding, as RoBERTa does) would see the remapped ids, so such a graph is not split
    ids = {"input_ids"}
    ids |= {n.output[0] for n in nodes if n.op_type == "Cast" and n.input[0] == "input_ids"}
    lookups = [n for n in nodes if n.op_type in ("EmbedLayerNormalization", "Gather") and set(n.input) & ids]
    if len(lookups) != 1:
        return False
    lookup = lookups[0]
    table_name = lookup.input[2] if lookup.op_type == "EmbedLayerNormalization" else lookup.input[0]
    if lookup.input[0 if lookup.op_type == "EmbedLayerNormalization" else 1] not in ids:
        return False
    for node in nodes:
        if node is lookup:
            continue
        reads_ids = (node.op_type == "Cast" and node.input[0] == "input_ids") or node.op_type == "Shape"
        if (set(node.input) & ids and not reads_ids) or table_name in node.input:
            return False
    found = [i for i in model.graph.initializer if i.name == table_name]
    if len(found) != 1 or len(found[0].dims) != 2:
        return False
    table = numpy_helper.to_array(found[0])
    model.graph.initializer.remove(found[0])
    model.graph.input.append(
        onnx.helper.make_tensor_value_info(EMBEDDINGS_INPUT, found[0].data_type, ["rows", int(table.shape[1])])
    )
    for i, name in enumerate(lookup.input):
        if name == table_name:
            lookup.input[i] = EMBEDDINGS_INPUT
    np.save(out / EMBEDDINGS_FILE, np.ascontiguousarray(table))
    onnx.save(model, str(out / SPLIT_FILE))
    return True


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
