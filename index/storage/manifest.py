"""The manifest: how an index was built, what it holds, and checksums of its files, as typed records (the build's
statistics, the recall tuning, each file's size and checksum) written to and read from one JSON file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IndexMismatchError
from ..vectors.tuning import Tuning

# 5: the lexical index gained its names field (index/transliteration.py)
# 6: each passage keeps its sentence spans (store.sqlite, passages.sentences): snippets show the sentences its
#    sentence vectors were pooled from, instead of splitting the passage again and matching them by count
# 7: the language map may be LEACE (language_means.npz gains the eraser; the manifest's language_method and language_asked
#    say what was applied and asked for). Format 6 is still read: its map is centring, as it was built, and it has no
#    language_method (read as "centring", or "off" when its language_centring is 0).
FORMAT_VERSION = 7
READABLE_FORMATS = (6, 7)


@dataclass(frozen=True)
class ModelInfo:
    """The embedding model an index was built with."""

    name: str
    source: str
    fingerprint: str
    dimension: int
    normalised: bool = True
    metric: str = "inner_product"
    encoder: str = "torch-fp32"  # the backend that encoded the passages (index/embedding/backends.py)


@dataclass(frozen=True)
class ChunkerInfo:
    """Chunking settings, so a rebuild can tell whether passages would change."""

    passage_tokens: int
    overlap_sentences: int
    title_context: bool = True


@dataclass(frozen=True)
class BuildStats:
    """What a build did to its vectors, index and stories (the manifest's ``build`` section)."""

    mode: str  # "full" (built from scratch) or "incremental" (the current vector index updated)
    encoder: str  # the encoder backend that made the vectors
    vectors_reused: int  # copied from the current index (unchanged text)
    vectors_precomputed: int  # encoded on Ray workers for this build
    vectors_cached: int  # found in the embedding cache
    vectors_encoded: int  # encoded for this build: here, or on Ray workers (the vectors_precomputed of them)
    masked: int  # ids an HNSW graph keeps but never returns (removed since it was built)
    trained_on: int  # vectors the index was built (IVF: trained) on
    stories: int  # stories with more than one version
    republished: int  # copies of other articles, listed but not indexed
    repaired: int  # inputs read differently from how they were written
    articles_in_stories: int


@dataclass(frozen=True)
class FileRecord:
    """One file of a version as the build wrote it."""

    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """Everything recorded about one built index."""

    semsearch_version: str
    created_at: str
    model: ModelInfo
    chunker: ChunkerInfo
    index_spec: str
    index_params: dict[str, Any]
    recall: Tuning  # what recall-targeted tuning chose and measured
    language_centring: float  # strength of the language map applied (centring: share of each mean); 0 = off
    articles: int
    passages: int
    headlines: int
    skipped: int
    languages: dict[str, int]
    sources: list[str]
    build_seconds: float
    build: BuildStats
    files: dict[str, FileRecord] = field(default_factory=dict)
    # the language map applied ("leace", "centring" or "off"; language_means.npz holds it) and the one the build
    # asked for (LEACE falls back to centring where it cannot be fitted, see storage/rows.py)
    language_method: str = "centring"
    language_asked: str = "centring"
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """The manifest as pretty JSON."""
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read and validate the manifest file at ``path`` (``storage.layout`` says where it is)."""
        folder = path.parent
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format_version") not in READABLE_FORMATS:
                raise IndexMismatchError(
                    f"The index at {folder} has format {data.get('format_version')!r}, this semsearch reads "
                    f"{FORMAT_VERSION}; rebuild it with `semsearch build`."
                )
            data.setdefault("language_method", "centring" if data["language_centring"] else "off")
            data.setdefault("language_asked", data["language_method"])
            data["model"] = ModelInfo(**data["model"])
            data["chunker"] = ChunkerInfo(**data["chunker"])
            data["recall"] = Tuning(**data["recall"])
            data["build"] = BuildStats(**data["build"])
            data["files"] = {name: FileRecord(**record) for name, record in data["files"].items()}
            return cls(**data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexMismatchError(
                f"The manifest {path} is missing or corrupt ({type(exc).__name__}); rebuild with `semsearch build`."
            ) from exc

    def check_sizes(self, folder: Path) -> None:
        """Refuse a version whose files are missing or not the size the build wrote (cheap: no file is read)."""
        for name, expected in self.files.items():
            path = folder / name
            try:
                size = path.stat().st_size
            except OSError:
                raise IndexMismatchError(f"{path} is missing; rebuild the index with `semsearch build`.") from None
            if size != expected.bytes:
                raise IndexMismatchError(
                    f"{path} is damaged ({size} bytes, the build wrote {expected.bytes}); rebuild the index with "
                    "`semsearch build`."
                )

    def damaged_files(self, folder: Path) -> list[str]:
        """The files whose size or sha256 differs from what the build wrote (reads every file)."""
        bad = []
        for name, expected in self.files.items():
            path = folder / name
            if not path.is_file() or path.stat().st_size != expected.bytes or file_sha256(path) != expected.sha256:
                bad.append(name)
        return bad


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def describe_files(folder: Path, skip: Collection[str]) -> dict[str, FileRecord]:
    """Size and checksum of every file in a build folder (before the manifest is written)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in skip)
    return {p.relative_to(folder).as_posix(): FileRecord(p.stat().st_size, file_sha256(p)) for p in files}
