"""A terminal progress bar for builds (articles read, passages embedded, passages/s)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from index import BuildProgress

_LABELS = {
    "read": "reading articles", "chunk": "chunking", "embed": "embedding passages", "index": "indexing vectors",
    "stories": "finding stories across languages", "write": "writing index",
}  # fmt: skip


class BuildProgressBar:
    """Shows one line per build stage on stderr; a no-op when disabled."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._embed_started = 0.0

    def __enter__(self) -> BuildProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description:<20}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, event: BuildProgress) -> None:
        """Record one progress event."""
        if self._progress is None:
            return
        task = self._tasks.get(event.stage)
        if task is None:
            for previous in self._tasks.values():  # a new stage means the open-ended ones are finished
                done = self._progress.tasks[previous].completed
                self._progress.update(previous, total=done, completed=done)
            task = self._progress.add_task(_LABELS.get(event.stage, event.stage), total=event.total, rate="")
            self._tasks[event.stage] = task
            if event.stage == "embed":
                self._embed_started = time.perf_counter()
        rate = ""
        if event.stage == "embed" and event.done:
            rate = f"{event.done / max(1e-9, time.perf_counter() - self._embed_started):.1f} passages/s"
        self._progress.update(task, completed=event.done, total=event.total, rate=rate)
