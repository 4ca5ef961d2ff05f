"""Reading on Ray: one task per folder learns the folder's boilerplate (so every file is cleaned as a local
build cleans it), then a pool of reader actors (language detector loaded once each) reads slices of
RAY_FILES_PER_TASK files. The driver puts the entries back in the local build's order and assembles them as
a local build does (``build.reading.assemble``): Ray only changes who produces the records."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...ingest.formats import ReadOptions
from ...ingest.language import LanguageDetector
from ...ingest.walk import ReadGroup, group_boilerplate, read_group, read_groups
from ...models import Article, Repaired, Skipped
from ...settings import RAY_FILES_PER_TASK, RAY_MAX_RETRIES
from ..reading import Entry, Ingested, Record, assemble, finished
from ..report import BuildProgress, ProgressCallback
from .session import ray_error, ray_module

# Per source group in reading order: a Skipped, or the numbers of its read tasks.
_Slot = Skipped | range


def read_on_ray(
    sources: list[Path], options: ReadOptions, notify: ProgressCallback, follow_links: bool = False
) -> Ingested:
    """Every article of ``sources``, read by Ray tasks and put together as a local build does (``assemble``)."""
    ray = ray_module()
    groups = list(read_groups(sources, follow_links))
    try:
        boilerplates = _boilerplates(ray, [g for g in groups if isinstance(g, ReadGroup)], options)
        slots, tasks = _read_tasks(groups, boilerplates)
        entries = _read(ray, tasks, options, notify)
    except ray.exceptions.RayError as exc:
        raise ray_error(exc, "reading") from exc
    ordered: list[Entry] = []
    for slot in slots:
        if isinstance(slot, Skipped):
            ordered.append(slot)
        else:
            for n in slot:
                ordered.extend(entries[n])
    return assemble(ordered, sources)  # the workers detected the languages


def _boilerplates(ray: Any, groups: list[ReadGroup], options: ReadOptions) -> list[frozenset[str]]:
    """The boilerplate of each folder group, one Ray task per group."""
    if not groups:
        return []
    found = ray.data.from_items([{"group": pickle.dumps(g)} for g in groups], override_num_blocks=len(groups))
    found = found.map_batches(_boilerplate_batch, fn_kwargs={"options": options}, batch_size=1,
                              max_retries=RAY_MAX_RETRIES)  # fmt: skip
    return [pickle.loads(b) for b in found.to_pandas()["boilerplate"]]


def _read_tasks(
    groups: list[ReadGroup | Skipped], boilerplates: list[frozenset[str]]
) -> tuple[list[_Slot], list[dict[str, Any]]]:
    """The read tasks (slices of RAY_FILES_PER_TASK files with their group's boilerplate), and each group's
    slot in reading order."""
    slots: list[_Slot] = []
    tasks: list[dict[str, Any]] = []
    learnt = iter(boilerplates)
    for group in groups:
        if isinstance(group, Skipped):
            slots.append(group)
            continue
        boilerplate = next(learnt)
        first = len(tasks)
        for start in range(0, len(group.files), RAY_FILES_PER_TASK):
            part = ReadGroup(group.base, group.files[start : start + RAY_FILES_PER_TASK])
            tasks.append({"n": len(tasks), "task": pickle.dumps((part, boilerplate))})
        slots.append(range(first, len(tasks)))
    return slots, tasks


def _read(
    ray: Any, tasks: list[dict[str, Any]], options: ReadOptions, notify: ProgressCallback
) -> dict[int, list[Entry]]:
    """Each task's entries, by task number, read by a pool of reader actors (one per CPU of the cluster)."""
    entries: dict[int, list[Entry]] = {}
    if not tasks:
        return entries
    read = ray.data.from_items(tasks, override_num_blocks=len(tasks))
    readers = min(len(tasks), max(1, int(ray.cluster_resources().get("CPU", 1))))
    read = read.map_batches(_ReadActor, fn_constructor_args=(options,), batch_size=1, num_cpus=1,
                            compute=ray.data.ActorPoolStrategy(size=readers), max_restarts=RAY_MAX_RETRIES,
                            max_task_retries=RAY_MAX_RETRIES)  # fmt: skip
    found_articles = 0
    for batch in read.iter_batches(batch_size=None, batch_format="numpy"):
        for n, blob in zip(batch["n"].tolist(), batch["entries"]):
            entries[int(n)] = pickle.loads(blob)
            found_articles += sum(isinstance(item, Article) for e in entries[int(n)]
                                  if isinstance(e, Record) for item in e.items)  # fmt: skip
        notify(BuildProgress("read", found_articles, None))
    return entries


def _boilerplate_batch(batch: Mapping[str, Any], options: ReadOptions) -> dict[str, list[bytes]]:
    """Ray task: the boilerplate of one folder group."""
    return {"boilerplate": [pickle.dumps(group_boilerplate(pickle.loads(g), options)) for g in batch["group"]]}


class _ReadActor:
    """A Ray actor: reads slices of folders' files and detects languages (the detector's models load once)."""

    def __init__(self, options: ReadOptions) -> None:
        self.options = options
        self.detector = LanguageDetector()

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        out = []
        for blob in batch["task"]:
            group, boilerplate = pickle.loads(blob)
            entries: list[Entry] = []
            for item in read_group(group, self.options, boilerplate):
                entries.append(item if isinstance(item, (Skipped, Repaired)) else self._record(item))
            out.append(pickle.dumps(entries))
        return {"n": list(batch["n"]), "entries": out}

    def _record(self, raw: dict[str, Any]) -> Record:
        record = finished(raw)
        texts = [f"{a.title}\n{a.text}" for a in record.items if isinstance(a, Article) and not a.lang]
        return replace(record, detected=tuple(self.detector.detect_many(texts)) if texts else ())
