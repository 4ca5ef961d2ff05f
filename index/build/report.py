"""What a build tells its caller: progress events while it runs, then a report with its statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
