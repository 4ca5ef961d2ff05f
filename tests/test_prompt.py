"""The interactive prompt's loop, fed lines as a terminal would (no terminal needed)."""

from __future__ import annotations

from index import Settings, open_index
from search.engine import SearchEngine
from search.filters import parse_filters
from search.prompt import PromptState, run_prompt
from tests.conftest import HashEmbedder


def test_commands_change_what_the_next_query_asks(tiny_index: Settings) -> None:
    engine = SearchEngine(open_index(tiny_index.index_dir), HashEmbedder())
    asked: list[tuple[str, PromptState, int]] = []
    shown: list[str] = []

    def search(query: str, state: PromptState) -> str:
        filters = parse_filters(state.lang, index_languages=engine.languages())
        result = engine.search(query, state.k, filters=filters, mode=state.mode, group=state.group)  # type: ignore[arg-type]
        asked.append((query, state, len(result.results)))
        return " | ".join(h.lang or "?" for h in result.results)

    lines = ["earthquake", ":k 2", ":lang ar", ":mode lexical", "  ", "معاهدة", ":k zero", ":mode fuzzy",
             ":lang xx", ":nope", ":lang", "rain", ":quit", "never asked"]  # fmt: skip
    final = run_prompt(lines, search, shown.append)
    assert [q for q, _, _ in asked] == ["earthquake", "معاهدة", "rain"]
    assert asked[0][1] == PromptState()
    assert asked[1][1] == PromptState(k=2, lang="ar", mode="lexical") and shown[4] == "ar"
    assert asked[2][1] == PromptState(k=2, lang=None, mode="lexical") and asked[2][2] <= 2
    errors = [s for s in shown if s.startswith("error: ")]
    assert len(errors) == 4 and "whole number" in errors[0] and "fuzzy" in errors[1] and "xx" in errors[2]
    assert final == PromptState(k=2, lang=None, mode="lexical")


def test_a_failing_query_is_one_error_line_and_the_loop_goes_on(tiny_index: Settings) -> None:
    engine = SearchEngine(open_index(tiny_index.index_dir), HashEmbedder())
    shown: list[str] = []
    run_prompt(
        ["x" * 5000, "Ракета спутник"],
        lambda q, s: engine.search(q, s.k, mode="lexical").results[0].title,
        shown.append,
    )
    assert shown[0].startswith("error: ") and "shorten" in shown[0] and shown[1] == "Запуск ракеты"


def test_on_a_terminal_query_without_words_opens_the_prompt(tiny_index: Settings) -> None:
    """The CLI on a pseudo-terminal: the prompt answers a lexical query and quits; history is kept."""
    import os
    import pty
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    main, child = pty.openpty()
    env = {**os.environ, "SEMSEARCH_HOME": str(tiny_index.home), "TERM": "dumb"}
    code = "import sys; from search.cli import main; sys.argv = ['semsearch', 'query', '--index', sys.argv[1]]; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, str(tiny_index.index_dir)], stdin=child, stdout=child,
                            stderr=child, cwd=ROOT, env=env, close_fds=True)  # fmt: skip
    os.close(child)
    os.write(main, b":mode lexical\nearthquake Sulawesi\n:quit\n")
    output = b""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            output += os.read(main, 4096)
        except OSError:
            break
    proc.wait(10)
    os.close(main)
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "semsearch>" in text and "mode lexical" in text and "Earthquake strikes Indonesia" in text
    assert (tiny_index.home / "query_history").is_file()
