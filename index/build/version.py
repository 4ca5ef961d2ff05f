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

import numpy as np

from ..embedding import Embedder
from ..models import count
from ..settings import Settings
from ..storage.lexical import LEXICAL_DIR, LexicalIndex
from ..storage.manifest import (
    MANIFEST_FILE,
    STORE_FILE,
    VECTORS_FILE,
    BuildStats,
    ChunkerInfo,
    Manifest,
    ModelInfo,
    describe_files,
)
from ..storage.rows import MASKED_FILE, MEANS_FILE, VectorRows
from ..storage.sentences import SentenceVectors
from ..storage.store import create_store
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
    """Write every file of ``new`` into ``work``, the manifest (with each file's checksum) last."""
    vectors = new.vectors
    vectors.index.save(work / VECTORS_FILE)
    new.rows.save(work)
    new.sentences.save(work)
    vectors.means.save(work / MEANS_FILE)
    np.save(work / MASKED_FILE, vectors.masked)
    LexicalIndex.build(new.plan.texts).save(work / LEXICAL_DIR)
    plan, inputs = new.plan, new.inputs
    create_store(work / STORE_FILE, inputs.articles, plan.passages, plan.numbers, plan.headline_ids, new.stories,
                 inputs.republished)  # fmt: skip
    manifest = _manifest(work, new, embedder, settings)
    (work / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _manifest(work: Path, new: NewVersion, embedder: Embedder, settings: Settings) -> Manifest:
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
        articles=len(inputs.articles),
        passages=len(new.plan.passages),
        headlines=len(new.plan.headline_ids),
        skipped=count(inputs.skipped),
        languages=dict(sorted(languages.items(), key=lambda kv: -kv[1])),
        sources=[str(s.resolve()) for s in inputs.sources],
        build_seconds=round(time.perf_counter() - inputs.started, 3),
        build=new.stats,
        files=describe_files(work),
    )
