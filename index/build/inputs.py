"""What a build indexes: the one input the three entry points (a local build, a Ray build, an HTTP write) hand
to ``pipeline.build_version``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..embedding.cache import Encoded
from ..models import Article, Notices, Repaired, Republished, Skipped
from ..storage.versions import LoadedIndex


@dataclass(frozen=True)
class BuildInput:
    """The articles of the next index version and what the build reports beside them."""

    articles: list[Article]
    sources: tuple[Path, ...]  # recorded in the manifest: what a rebuild reads again
    started: float = field(default_factory=time.perf_counter)  # when the build began (reading included)
    skipped: list[Skipped] = field(default_factory=Notices)
    repaired: list[Repaired] = field(default_factory=Notices)
    republished: list[Republished] = field(default_factory=list)  # copies of kept articles, listed not indexed
    current: LoadedIndex | None = None  # the current version, when the caller has it open already
    # vectors encoded elsewhere (Ray workers) by the same weights, keyed by the text_hash of the text embedded
    precomputed: Mapping[str, Encoded] | None = None
