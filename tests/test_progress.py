"""Build progress off a terminal: a line when a stage starts, and one every few seconds while it runs."""

from __future__ import annotations

import time

import pytest

import search.progress
from index import BuildProgress
from search.progress import BuildProgressBar


def test_a_stage_that_reports_nothing_still_prints_a_line_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 19.7: the one-time int8 export (like materialising the model) sends one event when it starts and
    none until it ends; off a terminal its lines must keep coming, each with the seconds it has run."""
    monkeypatch.setattr(search.progress, "PROGRESS_LINE_SECONDS", 0.2)
    with BuildProgressBar(terminal=False) as bar:
        bar.update(BuildProgress("model", 0, 1))
        bar.update(BuildProgress("export", 0, None))
        time.sleep(1.8)  # no event meanwhile, as during a real export
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == ["loading the model…", "exporting the ONNX encoder (once)…"]
    assert len(lines) >= 4 and all(line.startswith("  exporting the ONNX encoder (once), ") for line in lines[2:])
    assert lines[-1].endswith(" s") and int(lines[-1].rsplit(", ", 1)[1][:-2]) >= 1


def test_no_timer_lines_on_a_terminal_nor_after_the_build(capsys: pytest.CaptureFixture[str]) -> None:
    with BuildProgressBar(enabled=False) as bar:
        bar.update(BuildProgress("export", 0, None))
    assert capsys.readouterr().err == ""
    with BuildProgressBar(terminal=False) as bar:
        bar.update(BuildProgress("read", 0, None))
    assert bar._ticker is not None and not bar._ticker.is_alive()  # the timer stopped with the build
    assert capsys.readouterr().err.splitlines() == ["reading articles…"]


def test_no_timer_lines_once_the_running_stage_has_finished(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The timer repeats the running stage only while it runs: after "model 1/1" (loaded) it stays quiet."""
    monkeypatch.setattr(search.progress, "PROGRESS_LINE_SECONDS", 0.2)
    with BuildProgressBar(terminal=False) as bar:
        bar.update(BuildProgress("model", 0, 1))
        bar.update(BuildProgress("model", 1, 1))
        time.sleep(1.2)
    assert capsys.readouterr().err.splitlines() == ["loading the model…"]
