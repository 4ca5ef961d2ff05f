"""A served index that follows ``semsearch build``: the engine is swapped when a new version is published.

Every request takes the current engine once and uses it to the end, so a swap never mixes two
versions in one answer; the old version's folder stays on disk (a build keeps the previous one) for
requests still reading it. Checking costs one ``readlink`` per RELOAD_CHECK_S; loading the new version
happens on a background thread while the old one keeps answering.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from index import open_index
from index.errors import SemsearchError
from index.index_dir import current_version
from search.engine import SearchEngine

RELOAD_CHECK_S = 1.0
_log = logging.getLogger("semsearch.serving")


class ServedIndex:
    """The engine currently serving ``index_dir``, reloaded when the index's ``current`` pointer moves."""

    def __init__(self, engine: SearchEngine, index_dir: Path | None = None, *, home: Path | None = None) -> None:
        self._engine = engine
        self.index_dir = index_dir
        self.home = home  # SEMSEARCH_HOME: where a write's encoder workers find the model (None: no writes)
        self._checked = time.monotonic()
        self._loading = threading.Lock()
        self.reloads = 0

    @property
    def engine(self) -> SearchEngine:
        """The engine to answer this request with (noticing, at most once a second, a newer index)."""
        if self.index_dir is not None and time.monotonic() - self._checked > RELOAD_CHECK_S:
            self._checked = time.monotonic()
            if self._newer() and self._loading.acquire(blocking=False):
                threading.Thread(target=self._load_and_release, daemon=True).start()
        return self._engine

    def reload(self) -> str:
        """Load the current version now (blocking) if it is not the one serving; returns the serving version."""
        with self._loading:
            if self._newer():
                self._swap()
        return self._engine.index.version

    def _newer(self) -> bool:
        try:
            return self.index_dir is not None and current_version(self.index_dir).name != self._engine.index.version
        except SemsearchError:
            return False  # the index folder is being replaced or gone: keep serving what is loaded

    def _load_and_release(self) -> None:
        try:
            self._swap()
        except Exception:  # a half-built or damaged version must never take the server down
            _log.exception("could not load the new index version; still serving %s", self._engine.index.version)
        finally:
            self._loading.release()

    def _swap(self) -> None:
        assert self.index_dir is not None
        old = self._engine
        index = open_index(self.index_dir, mmap=True if old.store else None)
        if index.manifest.model.fingerprint != old.embedder.fingerprint:
            raise SemsearchError(
                f"The new index version {index.version} was built with another model "
                f"({index.manifest.model.name}); restart the server to serve it."
            )
        self._engine = SearchEngine(index, old.embedder, store=old.store)  # a Milvus store must match the new version
        self.reloads += 1
        _log.info("now serving index version %s (was %s)", self._engine.index.version, old.index.version)
