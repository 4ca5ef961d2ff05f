"""A served index that follows ``semsearch build``: the engine is swapped when a new version is published.

Every request takes the current engine once and uses it to the end, so a swap never mixes two
versions in one answer. The versions this process has open are leased (index/storage/versions.py), so no build
deletes one while a request may still read it. A watcher thread looks at ``current`` every
RELOAD_CHECK_S (one ``readlink``), with or without traffic, and loads a new version while the old one keeps
answering; a version that fails to load is remembered and not tried again until ``current`` moves. Each
version served is checked once in full in the background: SQLite's quick_check before it serves, the
build's checksums after.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from index import STORE_FILE, current_version, damaged, open_index
from index.errors import SemsearchError
from index.settings import DEFAULT_WRITE_WAIT_S
from search.engine import SearchEngine

RELOAD_CHECK_S = 1.0
_log = logging.getLogger("semsearch.serving")


class ServedIndex:
    """The engine currently serving ``index_dir``, reloaded when the index's ``current`` pointer moves.

    ``home``: SEMSEARCH_HOME, where a write's encoder workers find the model (None: the server takes no
    writes); ``write_wait_s``: how long a write waits for a running build. With an ``index_dir``, a daemon thread watches for new versions until ``close`` (or until this
    object is garbage-collected)."""

    def __init__(
        self,
        engine: SearchEngine,
        index_dir: Path | None = None,
        *,
        home: Path | None = None,
        write_wait_s: float = DEFAULT_WRITE_WAIT_S,
    ) -> None:
        if index_dir is not None:
            quick_check(engine)
        self._engine = engine
        self.index_dir = index_dir
        self.home = home
        self.write_wait_s = write_wait_s  # how long a write queues behind a build before a 503
        self._checked = time.monotonic()
        self._loading = threading.Lock()
        self._failed: str | None = None  # a version that could not be loaded, not retried until current moves
        self.failed_loads = 0
        self.reloads = 0
        self.damaged: str | None = None  # what the background checksum pass found wrong with the serving version
        self._stop = threading.Event()
        if index_dir is not None:
            self._verify_in_background(engine)
            threading.Thread(target=_watch, args=(weakref.ref(self), self._stop), daemon=True).start()

    @property
    def engine(self) -> SearchEngine:
        """The engine to answer this request with (noticing, at most once a second, a newer index)."""
        if self.index_dir is not None and time.monotonic() - self._checked > RELOAD_CHECK_S:
            self.check_for_new_version()
        return self._engine

    def check_for_new_version(self) -> None:
        """Start loading ``current`` on a background thread if it is a version not yet served or tried."""
        self._checked = time.monotonic()
        if self._newer() and self._loading.acquire(blocking=False):
            threading.Thread(target=self._load_and_release, daemon=True).start()

    def reload(self) -> str:
        """Load the current version now (blocking) if it is not the one serving; returns the serving version."""
        with self._loading:
            if self._newer(retry_failed=True):
                self._swap()
        return self._engine.index.version

    def close(self) -> None:
        """Stop watching for new versions."""
        self._stop.set()

    def _newer(self, *, retry_failed: bool = False) -> bool:
        try:
            name = current_version(self.index_dir).name if self.index_dir is not None else None
        except SemsearchError:
            return False  # the index folder is being replaced or gone: keep serving what is loaded
        return name is not None and name != self._engine.index.version and (retry_failed or name != self._failed)

    def _load_and_release(self) -> None:
        try:
            self._swap()
        except Exception as exc:  # a half-built or damaged version must never take the server down
            self.failed_loads += 1
            _log.error("error: could not load index version %s (%s); still serving %s", self._failed, exc,
                       self._engine.index.version)  # fmt: skip
        finally:
            self._loading.release()

    def _swap(self) -> None:
        assert self.index_dir is not None
        old = self._engine
        self._failed = current_version(self.index_dir).name
        index = open_index(self.index_dir)
        try:
            if index.manifest.model.fingerprint != old.embedder.fingerprint:
                raise SemsearchError(
                    f"The new index version {index.version} was built with another model "
                    f"({index.manifest.model.name}); restart the server to serve it."
                )
            # a Milvus store must match the new version
            engine = SearchEngine(index, old.embedder, store=old.store, batching=old.batching, encoder=old.encoder)
            quick_check(engine)
        except BaseException:
            index.close()
            raise
        self._engine, self._failed, self.damaged = engine, None, None
        self.reloads += 1
        _log.info("now serving index version %s (was %s)", engine.index.version, old.index.version)
        self._verify_in_background(engine)

    def _verify_in_background(self, engine: SearchEngine) -> None:
        threading.Thread(target=self._verify, args=(engine,), daemon=True).start()

    def _verify(self, engine: SearchEngine) -> None:
        """Compare every file of the served version with its build's checksums; say so in the log if one differs."""
        index = engine.index
        bad = index.manifest.damaged_files(index.folder)
        if bad and self._engine is engine:
            self.damaged = ", ".join(bad)
            _log.error("error: files of the served index version %s differ from what the build wrote: %s; "
                       "rebuild with `semsearch build`", index.version, self.damaged)  # fmt: skip

    def _check_sizes(self) -> None:
        """Log (once) when a file of the served version changed size under it: reading it may now fail."""
        index = self._engine.index
        if self.damaged is None:
            try:
                index.manifest.check_sizes(index.folder)
            except SemsearchError as exc:
                self.damaged = str(exc)
                _log.error("error: the served index version changed on disk: %s", exc)


def quick_check(engine: SearchEngine) -> None:
    """SQLite's quick_check of the engine's store, once per version a server opens."""
    try:
        engine.index.store.quick_check()
    except sqlite3.DatabaseError as exc:
        raise damaged(engine.index.folder / STORE_FILE, f"SQLite: {exc}") from exc


def _watch(ref: weakref.ref[ServedIndex], stop: threading.Event) -> None:
    """Every RELOAD_CHECK_S: load a new version if ``current`` moved, and check the served files' sizes."""
    while not stop.wait(max(RELOAD_CHECK_S, 0.05)):
        served = ref()
        if served is None:
            return
        try:
            served._check_sizes()
            served.check_for_new_version()
        except Exception:  # the watcher must outlive anything odd on disk
            _log.exception("index watcher")
        del served
