"""A local build's inputs as one fingerprint: every source file (its path and the hash of its bytes), what the
walk left out, the settings that shape the index, and the versions of semsearch and of the packages it reads
and chunks with. A version records it (``storage.sources``); a rebuild whose fingerprint equals the current
version's, with the same model and encoder, publishes nothing, and decides so before reading an article or
loading the model. A change the fingerprint cannot see costs a full read, never a wrong answer: the build then
compares what it read with the current version, as it always did."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from ..embedding import Embedder, StageCallback, known_fingerprint, resolve_model
from ..embedding.backends import backend_for
from ..ingest.walk import read_groups
from ..models import Skipped
from ..settings import DEFAULT_ENCODER, Settings

_CHUNK = 1 << 20


def inputs_fingerprint(sources: Sequence[Path], settings: Settings) -> str:
    """The fingerprint of reading ``sources`` with ``settings`` (reads every source file's bytes once)."""
    digest = hashlib.blake2b(digest_size=20)

    def add(*parts: object) -> None:
        digest.update(json.dumps(parts, ensure_ascii=False).encode("utf-8") + b"\n")

    add("sources", [str(s.resolve()) for s in sources], settings.follow_links, sorted(settings.fields))
    add("chunks", settings.passage_tokens, settings.overlap_sentences)
    add("index", settings.index_spec, settings.recall_target, settings.language_neutral, settings.language_method)
    add("packages", _package_versions())
    for group in read_groups(sources, settings.follow_links):
        if isinstance(group, Skipped):
            add("skipped", group.path, group.reason)
            continue
        for file in group.files:
            add("file", str(group.base), file.relative_to(group.base).as_posix(), _file_hash(file))
    return digest.hexdigest()


def model_identity(
    settings: Settings, embedder: Embedder | None, on_stage: StageCallback | None = None
) -> tuple[str, str] | None:
    """(weights fingerprint, encoder backend) the build would encode with, known without loading the model
    (the backend chosen as ``load_embedder`` chooses it); None for a model on the hub, whose fingerprint only
    loading tells. The default model is materialised first if it is not yet (``on_stage`` is told)."""
    if embedder is not None:
        return embedder.fingerprint, embedder.backend
    fingerprint = known_fingerprint(resolve_model(settings.model, settings.models_dir, on_stage).location)
    if fingerprint is None:
        return None
    return fingerprint, backend_for(settings.encoder or DEFAULT_ENCODER, use_gpu=settings.use_gpu)


def _package_versions() -> list[tuple[str, str]]:
    """semsearch's version and those of the packages it requires (reading, chunking and encoding change with
    them)."""
    versions = [("semsearch", metadata.version("semsearch"))]
    for requirement in metadata.requires("semsearch") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, ""))
    return versions


def _file_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:  # unreadable now: the read will say so; the fingerprint only has to differ
        return f"unreadable: {exc.errno}"
    return digest.hexdigest()
