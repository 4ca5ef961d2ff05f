"""What a build tells its caller: progress events while it runs, then a report with its statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..models import Repaired, Republished, Skipped, count
from ..storage.manifest import Manifest


@dataclass(frozen=True)
class BuildProgress:
    """One progress event: ``stage`` is "read", "model" (loading it; "materialise" and "export" for its one-time
    steps), "chunk", "embed", "index", "stories" or "write"."""

    stage: str
    done: int
    total: int | None


ProgressCallback = Callable[[BuildProgress], None]


def silent(event: BuildProgress) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class VectorCounts:
    """Where a build's vectors came from: the sources of its chain, in order."""

    reused: int = 0  # copied from the current index
    precomputed: int = 0  # encoded for this build on Ray workers
    cached: int = 0  # found in the embedding cache
    encoded: int = 0  # encoded here by this build


@dataclass(frozen=True)
class BuildStats:
    """What a build did to its vectors, index and stories (the manifest's ``build`` section: the field names are
    its keys)."""

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

    def as_dict(self) -> dict[str, object]:
        """Plain dict for the manifest."""
        return asdict(self)


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    index_dir: Path
    version: str
    manifest: Manifest
    skipped: list[Skipped]
    repaired: list[Repaired]
    republished: list[Republished]
    seconds: float
    encode_seconds: float
    notices: tuple[str, ...] = ()  # things the user should know: an encoder fallback, a disabled cache
    published: bool = True  # False: nothing changed, the current version (``version``) stays as it is

    @property
    def skipped_total(self) -> int:
        """Inputs skipped, counting those beyond the first MAX_NOTICES named in ``skipped``."""
        return count(self.skipped)

    @property
    def repaired_total(self) -> int:
        """Inputs repaired, counting those beyond the first MAX_NOTICES named in ``repaired``."""
        return count(self.repaired)

    @property
    def passages_per_second(self) -> float:
        """Passages per second over the whole build."""
        return self.manifest.passages / self.seconds if self.seconds else 0.0
