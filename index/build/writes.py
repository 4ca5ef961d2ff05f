"""The write path: upsert and delete articles in a built index, as a new version published atomically.

The current version's articles, minus the deleted ones, plus the upserted ones (replacing any with the
same id), are indexed again the way a build indexes files: unchanged text keeps its vectors, so only
new or changed passages are encoded. Copies of one story are found again among all of them. Writes
take the build lock, so they queue behind each other and behind ``semsearch build``; readers keep
the version they opened until the new one is published.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ..embedding import Embedder
from ..errors import ArticleNotFoundError, InvalidQueryError
from ..ingest.duplicates import find_duplicates
from ..models import Article
from ..settings import Settings
from ..storage.manifest import Manifest
from ..storage.versions import build_lock, open_index
from .pipeline import BuildReport, ProgressCallback, index_articles

# Articles in one write request at most.
MAX_WRITE_ARTICLES = 1_000


def write_settings(settings: Settings, manifest: Manifest) -> Settings:
    """``settings`` (where models live: SEMSEARCH_HOME, never the index folder) with everything about how the
    index was built taken from its manifest, so a write keeps the index as it is."""
    return settings.with_overrides(
        model=manifest.model.name, index_spec=manifest.index_spec, passage_tokens=manifest.chunker.passage_tokens,
        overlap_sentences=manifest.chunker.overlap_sentences,
        recall_target=manifest.recall.target,
        language_neutral=manifest.language_centring > 0, language_method=manifest.language_asked if manifest.language_centring > 0 else None,
        cache_bytes=0,  # new text from a client: the current index already holds every vector worth reusing
    )  # fmt: skip


def write_articles(
    settings: Settings,
    upsert: Sequence[Article] = (),
    delete: Sequence[str] = (),
    *,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Apply upserts and deletions to the index at ``settings.index_dir``; unknown ids to delete are refused."""
    if len(upsert) + len(delete) > MAX_WRITE_ARTICLES:
        raise InvalidQueryError(
            f"{len(upsert) + len(delete)} articles in one write; send at most {MAX_WRITE_ARTICLES}."
        )
    started = time.perf_counter()
    with build_lock(settings.index_dir, wait_s=settings.write_wait_s):
        current = open_index(settings.index_dir)
        articles = {a.id: a for a in current.store.all_articles()}
        earlier = current.store.all_republished()
        unknown = sorted(set(delete) - set(articles) - {r.id for r in earlier})
        if unknown:
            raise ArticleNotFoundError(f"No article {', '.join(map(repr, unknown[:5]))} in this index to delete.")
        for article_id in delete:
            articles.pop(article_id, None)  # a copy's id is dropped from the copies listed below
        for article in upsert:
            articles[article.id] = article
        kept, republished = find_duplicates(list(articles.values()))
        leads, copies = {a.id for a in kept}, {r.id for r in republished}
        # copies found by earlier builds stay listed while the article they copy stays (unless deleted or sent again)
        gone = copies | set(delete) | {a.id for a in upsert}
        republished += [r for r in earlier if r.article_id in leads and r.id not in gone]
        return index_articles(
            kept, settings, embedder=embedder, notify=progress or (lambda event: None), started=started,
            sources=[Path(s) for s in current.manifest.sources], republished=republished, current=current,
        )  # fmt: skip
