"""The ``query`` command's paths besides the plain one: a batch file (one answer per line, in order), a
running server (``--url``), and the interactive prompt on a terminal."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from index.errors import SemsearchError
from index.settings import Settings
from search.cli_options import print_json


def print_results(
    lines: list[str], checked: list[str | SemsearchError], results: list[Any], *, as_json: bool, batch: bool
) -> None:
    """One answer per input line, in order: its results, or the error that says why the line is no query."""
    from search.render import format_result

    answers = iter(results)
    terminal = sys.stdout.isatty()
    for number, item in enumerate(checked, start=1):
        result = next(answers) if isinstance(item, str) else item
        if isinstance(result, SemsearchError):
            typer.echo(f"warning: line {number} of the batch: {result}", err=True)
        if as_json:
            print_json(_batch_error(number, lines[number - 1], result) if isinstance(result, SemsearchError)
                        else result.model_dump())  # fmt: skip
            continue
        if batch:  # successive queries, each under its own header
            typer.echo(("\n" if number > 1 else "") + _batch_header(number, lines[number - 1], terminal))
        typer.echo(f"error: {result}" if isinstance(result, SemsearchError)
                   else format_result(result, color=terminal, bidi=terminal))  # fmt: skip


def ask_server(
    settings: Settings, queries: list[str], params: dict[str, Any], *, named_index: bool, as_json: bool
) -> None:
    """``query --url``: the server's answers, refused when it serves another index than the one named."""
    from search.remote import query_server

    expect = None
    if named_index:
        from index import current_version

        expect = current_version(settings.index_dir).name
    assert settings.url is not None
    answers = query_server(settings.url, queries, params, api_key=settings.api_key, expect_version=expect)
    for answer in answers:
        if as_json:
            print_json(answer)
        else:
            from search.render import format_result
            from search.results import QueryResult

            typer.echo(format_result(QueryResult.model_validate(answer), color=sys.stdout.isatty()))


def interactive(settings: Settings, k: int, lang: str | None, mode: str, group: str) -> None:
    """The prompt loop on a terminal: the engine opens once; readline keeps a history across sessions."""
    import readline

    from search.engine import SearchEngine
    from search.filters import parse_filters
    from search.progress import ModelSteps
    from search.prompt import HELP, PromptState, run_prompt
    from search.render import format_result

    steps = ModelSteps()
    engine = SearchEngine.open(settings, on_stage=steps)
    history = settings.home / "query_history"
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    shown: set[str] = set()

    def search(query: str, state: PromptState) -> str:
        filters = parse_filters(state.lang, index_languages=engine.languages())
        with steps:
            result = engine.search(query, state.k, filters=filters, mode=state.mode, group=state.group)  # type: ignore[arg-type]
        for warning in set(engine.warnings) - shown:
            shown.add(warning)
            typer.echo(f"warning: {warning}", err=True)
        return format_result(result, color=True)

    def lines() -> Iterator[str]:
        while True:
            try:
                yield input("semsearch> ")
            except (EOFError, KeyboardInterrupt):
                typer.echo()
                return

    typer.echo(f"{engine.index.manifest.articles} articles ({engine.index.version}). {HELP}")
    try:
        run_prompt(lines(), search, typer.echo, PromptState(k=k, lang=lang, mode=mode, group=group))
    finally:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.set_history_length(1000)
            readline.write_history_file(history)


def read_batch(batch: Path) -> list[str]:
    """The batch's lines, stripped; blank ones kept (output line N answers input line N), except at the end."""
    try:
        content = sys.stdin.read() if str(batch) == "-" else batch.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SemsearchError(f"Cannot read the batch file {batch}: {exc}.") from exc
    lines = [line.strip() for line in content.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise SemsearchError(f"The batch {batch} has no queries; put one query per line.")
    return lines


def checked(line: str, validate: Any) -> str | SemsearchError:
    """The query of a batch line, or the error that says why the line is none."""
    try:
        return str(validate(line))
    except SemsearchError as exc:
        return exc


def _batch_error(number: int, line: str, error: SemsearchError) -> dict[str, Any]:
    """The JSON line that stands for a batch line that is no query."""
    return {"query": line, "line": number, "results": [],
            "error": {"type": type(error).__name__, "message": str(error)}}  # fmt: skip


def _batch_header(number: int, line: str, terminal: bool) -> str:
    """The line above each query's results in a text-mode batch."""
    from search.render import isolate

    shown = (isolate(line) if terminal else line) if line else "(blank line)"
    return f"── {number}. {shown}"


def answer_queries(
    settings: Settings, text: str | None, batch: Path | None, fields: dict[str, Any], *, as_json: bool
) -> None:
    """``query`` against the local index: one query, or a batch with one answer per line (``fields``: the
    options, validated here by ``QueryOptions``)."""
    with without_pydantic_plugins():
        from search.engine import SearchEngine
        from search.progress import ModelSteps
        from search.results import QueryOptions, validate_query

        options = QueryOptions.of(**fields)

        # a batch line that is no query (blank, too long) keeps its place in the output, as an error object
        lines = [validate_query(text)] if text is not None else read_batch(batch)  # type: ignore[arg-type]
        found = [checked(line, validate_query) for line in lines]
        steps = ModelSteps()  # a first query may wait for the model's one-time steps: say so on stderr
        engine = SearchEngine.open(settings, on_stage=steps)
        queries = [q for q in found if isinstance(q, str)]
        with steps:
            results = engine.answer_many(queries, options) if queries else []
        for warning in engine.warnings:  # the model's, known once it loaded (a lexical query never loads it)
            typer.echo(f"warning: {warning}", err=True)
        print_results(lines, found, results, as_json=as_json, batch=batch is not None)


@contextlib.contextmanager
def without_pydantic_plugins() -> Iterator[None]:
    """Pydantic looks for plugins when it builds a model's validator, by reading the entry points of every
    installed package (~40 ms of a cold query); a CLI query's validators have no use for them. As typer does
    around its own validators: PYDANTIC_DISABLE_PLUGINS while inside, unless the user set it."""
    given = os.environ.get("PYDANTIC_DISABLE_PLUGINS")
    if given is None:
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = "1"
    try:
        yield
    finally:
        if given is None:
            os.environ.pop("PYDANTIC_DISABLE_PLUGINS", None)
