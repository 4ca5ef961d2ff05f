"""Build progress on stderr: a live bar per stage on a terminal; elsewhere (CI, nohup, a log file) one line
when a stage starts and one every PROGRESS_LINE_SECONDS while it runs, so a long build is never silent."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from index import BuildProgress

_LABELS = {
    "read": "reading articles", "model": "loading the model",
    "materialise": "materialising the model from its wheel (once)", "export": "exporting the int8 encoder (once)",
    "chunk": "chunking", "embed": "embedding passages", "index": "indexing vectors",
    "stories": "finding stories across languages", "write": "writing index",
}  # fmt: skip
# Off a terminal: seconds between two progress lines of one stage.
PROGRESS_LINE_SECONDS = 10.0


class BuildProgressBar:
    """Shows build progress on stderr (see the module docstring); a no-op when disabled.

    ``terminal``: draw live bars (default: whether stderr is a terminal)."""

    def __init__(self, enabled: bool = True, terminal: bool | None = None) -> None:
        self.enabled = enabled
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._started: dict[str, float] = {}  # when each stage was first seen
        self._last_line = 0.0

    def __enter__(self) -> BuildProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, event: BuildProgress) -> None:
        """Record one progress event."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if event.stage not in self._started:
            self._started[event.stage] = self._last_line = now
            if not self.terminal:
                self._line(f"{_LABELS.get(event.stage, event.stage)}…")
        elif not self.terminal and now - self._last_line >= PROGRESS_LINE_SECONDS:
            self._last_line = now
            counted = f"{event.done}/{event.total}" if event.total is not None else str(event.done)
            self._line(f"  {_LABELS.get(event.stage, event.stage)} {counted}{self._rate(event, now)}, "
                       f"{now - self._started[event.stage]:.0f} s")  # fmt: skip
        if self.terminal:
            self._bar(event, now)

    def _rate(self, event: BuildProgress, now: float) -> str:
        if event.stage != "embed" or not event.done:
            return ""
        return f" ({event.done / max(1e-9, now - self._started[event.stage]):.1f} passages/s)"

    @staticmethod
    def _line(text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def _bar(self, event: BuildProgress, now: float) -> None:
        if self._progress is None:  # started at the first event: nothing is drawn for a build refused at once
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
        task = self._tasks.get(event.stage)
        if task is None:
            for previous in self._tasks.values():  # a new stage means the open-ended ones are finished
                done = self._progress.tasks[previous].completed
                self._progress.update(previous, total=done, completed=done)
            task = self._progress.add_task(_LABELS.get(event.stage, event.stage), total=event.total, rate="")
            self._tasks[event.stage] = task
        self._progress.update(task, completed=event.done, total=event.total, rate=self._rate(event, now).strip(" ()"))
