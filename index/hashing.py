"""Content fingerprints: of texts (article and passage hashes) and of model weights."""

from __future__ import annotations

import hashlib
from pathlib import Path

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".pt")
_CHUNK = 1 << 20


def text_hash(*parts: str) -> str:
    """Stable short hash of some text parts (separated so ("ab","c") != ("a","bc"))."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def fingerprint_folder(folder: Path) -> str:
    """Hash of a model folder's weight files and configs, so two different models never match."""
    digest = hashlib.sha256()
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and (p.suffix in _WEIGHT_SUFFIXES or p.suffix == ".json")
    )
    for path in files:
        if path.name == "semsearch_model.json":
            continue
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()[:32]
