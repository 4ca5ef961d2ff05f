"""Build progress on stderr: a live bar per stage on a terminal; elsewhere (CI, nohup, a log file) one line
when a stage starts and one every PROGRESS_LINE_SECONDS while it runs, so a long build is never silent. A
stage that reports nothing while it works (materialising the model, the int8 export, loading the model) gets
its lines from a timer thread, with the seconds it has run."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index import BuildProgress

_LABELS = {
    "read": "reading articles", "model": "loading the model",
    "materialise": "materialising the model from its wheel (once)", "export": "exporting the ONNX encoder (once)",
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
        self._last: BuildProgress | None = None  # the latest event: the stage running now
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> BuildProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._progress is not None:
            self._progress.stop()

    def update(self, event: BuildProgress) -> None:
        """Record one progress event."""
        if not self.enabled:
            return
        now = time.perf_counter()
        with self._lock:
            self._last = event
            if event.stage not in self._started:
                self._started[event.stage] = self._last_line = now
                if not self.terminal:
                    self._line(f"{_LABELS.get(event.stage, event.stage)}…")
            elif not self.terminal and now - self._last_line >= PROGRESS_LINE_SECONDS:
                self._progress_line(event, now)
        if self.terminal:
            self._bar(event, now)
        elif self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="build-progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        """Off a terminal: a line for the running stage whenever PROGRESS_LINE_SECONDS pass without one."""
        while not self._stop.wait(max(0.5, min(1.0, PROGRESS_LINE_SECONDS / 2))):
            now = time.perf_counter()
            with self._lock:
                last = self._last
                finished = last is not None and last.total is not None and last.done >= last.total
                if last is not None and not finished and now - self._last_line >= PROGRESS_LINE_SECONDS:
                    self._progress_line(last, now)

    def _progress_line(self, event: BuildProgress, now: float) -> None:
        self._last_line = now
        counted = f" {event.done}/{event.total}" if event.total is not None else f" {event.done}" if event.done else ""
        self._line(f"  {_LABELS.get(event.stage, event.stage)}{counted}{self._rate(event, now)}, "
                   f"{now - self._started[event.stage]:.0f} s")  # fmt: skip

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


class ModelSteps:
    """For a query, a prompt or a server: a line on stderr when one of the model's slow one-time steps starts
    (materialising it from its wheel, the ONNX export), one every PROGRESS_LINE_SECONDS while it runs and one
    when the model is ready; nothing when no such step happens. Pass it as the engine's ``on_stage`` and wrap
    the calls that may load the model in ``with steps:``."""

    def __init__(self) -> None:
        self._bar: BuildProgressBar | None = None
        self._started = 0.0

    def __call__(self, stage: str) -> None:
        from index import BuildProgress  # here, not at the top: a query that loads no model never imports index.build

        if self._bar is None:
            self._bar, self._started = BuildProgressBar(terminal=False), time.perf_counter()
        self._bar.update(BuildProgress(stage, 0, None))

    def __enter__(self) -> ModelSteps:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.__exit__(kind, exc, tb)
            if kind is None:
                BuildProgressBar._line(f"  model ready ({time.perf_counter() - self._started:.0f} s)")
