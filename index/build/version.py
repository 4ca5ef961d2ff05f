"""The last stages of a build: every file of the new version written into a work folder, then published.

A version is written into a hidden work folder and renamed into place only when complete (``publish``), so
readers never see half of one; a failure removes the work folder and leaves the current version as it was.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..embedding import Embedder
from ..models import count
from ..settings import Settings
from ..storage import layout
from ..storage.layout import VersionContent
from ..storage.manifest import BuildStats, ChunkerInfo, FileRecord, Manifest, ModelInfo
from ..storage.rows import VectorRows, language_method
from ..storage.sentences import SentenceVectors
from ..storage.store import StoreRecords
from ..storage.versions import new_work_folder
from .inputs import BuildInput
from .plan import Plan
from .vector_index import BuiltIndex


@dataclass(frozen=True)
class NewVersion:
    """Everything one version holds, as the stages before the write made it."""

    inputs: BuildInput
    plan: Plan
    rows: VectorRows
    sentences: SentenceVectors
    vectors: BuiltIndex
    stories: dict[int, int]  # story number per article number, for articles with other versions
    stats: BuildStats


@contextlib.contextmanager
def work_folder(index_dir: Path) -> Iterator[Path]:
    """A new work folder in ``index_dir``, removed when the block fails."""
    work = new_work_folder(index_dir)
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def write_version(work: Path, new: NewVersion, embedder: Embedder, settings: Settings) -> Manifest:
    """Write every file of ``new`` into ``work`` (``storage.layout``), the manifest with each file's checksum last."""
    vectors, plan, inputs = new.vectors, new.plan, new.inputs
    store = StoreRecords(inputs.articles, plan.passages, plan.numbers, plan.headline_ids, new.stories,
                         inputs.republished)  # fmt: skip
    content = VersionContent(vectors.index, new.rows, new.sentences, vectors.means, vectors.masked, plan.texts, store)
    return layout.write_version(work, content, lambda files: _manifest(files, new, embedder, settings))


def _manifest(files: dict[str, FileRecord], new: NewVersion, embedder: Embedder, settings: Settings) -> Manifest:
    from importlib.metadata import version

    inputs, vectors = new.inputs, new.vectors
    languages: dict[str, int] = {}
    for article in inputs.articles:
        languages[article.lang or "?"] = languages.get(article.lang or "?", 0) + 1
    return Manifest(
        semsearch_version=version("semsearch"),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=ModelInfo(
            embedder.name, embedder.source, embedder.fingerprint, embedder.dimension, encoder=embedder.backend
        ),
        chunker=ChunkerInfo(settings.passage_tokens, settings.overlap_sentences),
        index_spec=str(vectors.index.spec),
        index_params=dict(vectors.index.params),
        recall=vectors.tuning,
        language_centring=vectors.means.strength,
        language_method=vectors.means.method,
        language_asked=language_method(settings.language_neutral, settings.language_method),
        articles=len(inputs.articles),
        passages=len(new.plan.passages),
        headlines=len(new.plan.headline_ids),
        skipped=count(inputs.skipped),
        languages=dict(sorted(languages.items(), key=lambda kv: -kv[1])),
        sources=[str(s.resolve()) for s in inputs.sources],
        build_seconds=round(time.perf_counter() - inputs.started, 3),
        build=new.stats,
        files=files,
    )
