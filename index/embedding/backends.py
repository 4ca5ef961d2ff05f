"""Encoder backends: which one runs (CPU fp32, CUDA fp16, ONNX int8), and which may query whose index.

The choice is a pure function of what was asked and what the machine has, so it is tested here even
where no GPU is present:

- ``auto`` (the default): ``torch-fp16-cuda`` when torch sees a CUDA GPU and the GPU is not turned
  off (``--no-gpu`` / ``SEMSEARCH_NO_GPU=1``), else ``torch-fp32``.
- ``fast`` (``--fast``): ``onnx-int8``, the model exported to ONNX and quantised to int8 per channel,
  run by ONNX Runtime on the CPU. On a machine with a usable GPU, ``fast`` takes the GPU instead:
  fp16 on a GPU is both faster and closer to fp32 than int8 on a CPU.
- a backend named outright is used as named (``torch-fp16-cuda`` without a GPU is an error).
- ``onnx-fp32``: the same fp32 weights exported to ONNX, run by ONNX Runtime without torch. It is the
  default *query* encoder of a ``torch-fp32`` index (search/engine.py): it starts in a fraction of
  torch's time and its vectors match torch's (cosine >= 0.9999, identical top-10 on the seeds dev evaluation;
  benchmarks/README.md, "Cold start").

Vectors from different backends of the same weights are close but not equal. An index records the
backend that built it; a query encoder of another backend is accepted only for the pairs in
``INTERCHANGEABLE``, measured on the dev evaluation (benchmarks/README.md, "Encoder backends").
"""

from __future__ import annotations

import os
from typing import Final

from ..errors import SemsearchError

TORCH_FP32: Final = "torch-fp32"
TORCH_FP16_CUDA: Final = "torch-fp16-cuda"
ONNX_INT8: Final = "onnx-int8"
ONNX_FP32: Final = "onnx-fp32"
BACKENDS: Final = (TORCH_FP32, TORCH_FP16_CUDA, ONNX_INT8, ONNX_FP32)
AUTO: Final = "auto"
FAST: Final = "fast"
CHOICES: Final = (AUTO, FAST, *BACKENDS)

# Pairs (index built with, query encoded with) measured safe: on NTREX-128's dev evaluation (1,096 queries,
# 42 language pairs, dense mode; benchmarks/README.md, "Encoding throughput") the mean change over the pairs
# is within one point of MRR@10 and Recall@10 and no pair loses more than 2.5 points — the same spread as
# int8 on both sides (-1.6 to +1.9 points per pair) — for fp32 index / int8 queries (mean -0.6 MRR@10,
# worst pair -2.0) and int8 index / fp32 queries (mean +0.4, worst -1.2). fp16 on a GPU differs from fp32
# by rounding far below int8's (not measurable on this project's CPU machines; see the README).
_MEASURED: Final = frozenset(
    {
        (TORCH_FP32, ONNX_INT8),
        (ONNX_INT8, TORCH_FP32),
        (TORCH_FP32, TORCH_FP16_CUDA),
        (TORCH_FP16_CUDA, TORCH_FP32),
        (TORCH_FP16_CUDA, ONNX_INT8),
        (ONNX_INT8, TORCH_FP16_CUDA),
    }
)
# onnx-fp32 is torch-fp32's weights in fp32 run by ONNX Runtime: query vectors within cosine 0.9999 of
# torch's on a multilingual sample and the same top-10 for every query of the seeds dev evaluation
# (tests/test_onnx_query_encoder.py; benchmarks/README.md, "Cold start"), so it pairs wherever torch-fp32 does.
INTERCHANGEABLE: Final = frozenset(
    {
        *_MEASURED,
        (TORCH_FP32, ONNX_FP32),
        (ONNX_FP32, TORCH_FP32),
        *((ONNX_FP32, b) for a, b in _MEASURED if a == TORCH_FP32),
        *((a, ONNX_FP32) for a, b in _MEASURED if b == TORCH_FP32),
    }
)

INSTALL_HINT: Final = {
    ONNX_INT8: "pip install onnxruntime onnx (both are semsearch dependencies: reinstall with pip install -e .)",
    ONNX_FP32: "pip install onnxruntime onnx (both are semsearch dependencies: reinstall with pip install -e .)",
    TORCH_FP16_CUDA: "a CUDA build of torch: pip install torch --index-url https://download.pytorch.org/whl/cu124",
}


def choose_backend(requested: str, *, cuda_available: bool, gpu_allowed: bool = True) -> str:
    """The backend that runs for ``requested`` on a machine with (or without) a usable CUDA GPU."""
    if requested not in CHOICES:
        raise SemsearchError(f"Unknown encoder {requested!r}: use one of {', '.join(CHOICES)}.")
    gpu = cuda_available and gpu_allowed
    if requested == AUTO:
        return TORCH_FP16_CUDA if gpu else TORCH_FP32
    if requested == FAST:
        return TORCH_FP16_CUDA if gpu else ONNX_INT8
    if requested == TORCH_FP16_CUDA and not gpu:
        why = "the GPU is turned off (--no-gpu)" if cuda_available else "torch sees no CUDA GPU here"
        raise SemsearchError(f"Encoder {TORCH_FP16_CUDA} needs a CUDA GPU, but {why}. Use --encoder auto or fast.")
    return requested


def backend_for(requested: str, *, use_gpu: bool) -> str:
    """The backend that runs for ``requested`` here: a backend named outright needs no question to torch, the
    rest (``auto``, ``fast``, ``torch-fp16-cuda``) ask whether a usable CUDA GPU is present."""
    if requested in BACKENDS and requested != TORCH_FP16_CUDA:
        return choose_backend(requested, cuda_available=False)
    return choose_backend(requested, cuda_available=use_gpu and cuda_available(), gpu_allowed=use_gpu)


def check_interchangeable(index_backend: str, query_backend: str) -> None:
    """Refuse a query encoder whose vectors were not measured safe against the index's."""
    if index_backend == query_backend or (index_backend, query_backend) in INTERCHANGEABLE:
        return
    from ..errors import IndexMismatchError

    raise IndexMismatchError(
        f"This index was built with the {index_backend} encoder; querying it with {query_backend} was not "
        f"measured safe. Query with --encoder {index_backend}, or rebuild with --encoder {query_backend}."
    )


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (False when torch is the CPU build). Answered without importing torch
    (~1.5 s) where that cannot be: torch is a CPU build, or Linux has no NVIDIA driver loaded."""
    import sys
    from importlib import metadata

    try:
        if "+cpu" in metadata.version("torch"):
            return False
    except metadata.PackageNotFoundError:
        return False
    if sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia/version"):
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())
