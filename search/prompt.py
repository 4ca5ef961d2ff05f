"""The interactive prompt of ``semsearch query`` (no query given, on a terminal): the engine loads once,
then each line is a query or a command (``:lang ar``, ``:k 5``, ``:mode lexical``, ``:quit``).

``run_prompt`` takes its lines and its output as arguments, so it is tested without a terminal; the CLI
feeds it ``input()`` with readline's history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from index.errors import SemsearchError
from index.settings import DEFAULT_GROUP, DEFAULT_K, DEFAULT_MODE

HELP = (
    "Type a query, or a command: :k N (results), :lang ar,fa (languages; :lang alone for all), "
    ":mode dense|lexical|hybrid, :group stories|articles, :help, :quit"
)


@dataclass(frozen=True)
class PromptState:
    """What the next query is asked with."""

    k: int = DEFAULT_K
    lang: str | None = None
    mode: str = DEFAULT_MODE
    group: str = DEFAULT_GROUP


def run_prompt(
    lines: Iterable[str],
    search: Callable[[str, PromptState], Any],
    show: Callable[[str], None],
    state: PromptState = PromptState(),
) -> PromptState:
    """Answer each line: a query goes to ``search`` (its result is shown with ``show``), a command changes
    the state; errors are shown as one ``error:`` line and the loop goes on. Returns the last state."""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not line.startswith(":"):
            try:
                show(str(search(line, state)))
            except SemsearchError as exc:
                show(f"error: {exc}")
            continue
        command, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if command in ("q", "quit", "exit"):
            break
        try:
            state = _command(command, arg, state)
        except SemsearchError as exc:
            show(f"error: {exc}")
            continue
        show(HELP if command in ("h", "help", "?") else _describe(state))
    return state


def _command(command: str, arg: str, state: PromptState) -> PromptState:
    from index.errors import InvalidQueryError
    from search.filters import parse_filters
    from search.results import QueryOptions

    if command in ("h", "help", "?"):
        return state
    if command == "k":
        if not arg.isdigit():
            raise InvalidQueryError(f":k takes a whole number, e.g. :k 5 (got {arg!r}).")
        QueryOptions.of(k=int(arg))
        return replace(state, k=int(arg))
    if command == "lang":
        parse_filters(arg or None)  # an unknown code is refused now, not at every query after
        return replace(state, lang=arg or None)
    if command == "mode":
        QueryOptions.of(mode=arg, group=state.group)
        return replace(state, mode=arg)
    if command == "group":
        QueryOptions.of(mode=state.mode, group=arg)
        return replace(state, group=arg)
    raise InvalidQueryError(f"Unknown command :{command}. {HELP}")


def _describe(state: PromptState) -> str:
    return f"k {state.k}, languages {state.lang or 'all'}, mode {state.mode}, group {state.group}"
