"""`semsearch query --url` against a live uvicorn server: the same answer as the local engine, the API key
sent, and no silent fallback (an unreachable server or another index is an error)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index import Settings, build_index, open_index
from search.api import create_app
from search.cli import app
from search.engine import SearchEngine
from tests.conftest import HashEmbedder, running_server, write_corpus

runner = CliRunner()


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _without_timing(answer: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in answer.items() if k != "took_ms"}


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_the_server_answers_what_the_local_engine_answers(tiny_index: Settings, mode: str) -> None:
    engine = SearchEngine(open_index(tiny_index.index_dir), HashEmbedder())
    args = ["--mode", mode, "-k", "3", "--lang", "en,ar,ru", "--json", "--index", str(tiny_index.index_dir)]
    with running_server(create_app(engine)) as url:
        code, out, err = _cli("query", "earthquake Sulawesi", *args, "--url", url)
        env_code, env_out, _ = _cli("query", "earthquake Sulawesi", *args, env={"SEMSEARCH_URL": url})
    assert code == env_code == 0, err
    remote = json.loads(out)
    local = SearchEngine(open_index(tiny_index.index_dir), HashEmbedder()).search(
        "earthquake Sulawesi", 3, mode=mode, filters=_filters(engine, "en,ar,ru")
    )
    assert remote["results"] and _without_timing(remote) == _without_timing(local.model_dump())
    assert _without_timing(json.loads(env_out)) == _without_timing(remote)
    if mode == "lexical":  # the CLI's own local answer (a lexical query needs no model) is the same too
        code, out, _ = _cli("query", "earthquake Sulawesi", *args)
        assert code == 0 and _without_timing(json.loads(out)) == _without_timing(remote)


def _filters(engine: SearchEngine, lang: str) -> object:
    from search.filters import parse_filters

    return parse_filters(lang, index_languages=engine.languages())


def test_an_unreachable_server_is_one_error_line_naming_it(tiny_index: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once the socket closes
    code, out, err = _cli("query", "earthquake", "--url", url, "--index", str(tiny_index.index_dir))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and url in err and len(err.strip().splitlines()) == 1


def test_a_server_of_another_index_is_refused(tiny_index: Settings, tmp_path: Path) -> None:
    other = Settings(home=tmp_path / "home", index_dir=tmp_path / "other")
    build_index([write_corpus(tmp_path / "other-corpus", {"a.txt": "Rocket launch\n\nThe rocket flew."})], other,
                embedder=HashEmbedder())  # fmt: skip
    engine = SearchEngine(open_index(other.index_dir), HashEmbedder())
    with running_server(create_app(engine)) as url:
        code, out, err = _cli("query", "rocket", "--url", url, "--index", str(tiny_index.index_dir), "--json")
        ok, answer, _ = _cli("query", "rocket", "--url", url, "--index", str(other.index_dir), "--json")
    assert code == 4 and out == "" and err.startswith("error: ") and engine.index.version in err
    assert ok == 0 and json.loads(answer)["results"][0]["title"] == "Rocket launch"


def test_the_api_key_comes_from_the_environment(tiny_index: Settings) -> None:
    engine = SearchEngine(open_index(tiny_index.index_dir), HashEmbedder())
    with running_server(create_app(engine, api_key="s3cret", require_key=True)) as url:
        refused, _, err = _cli("query", "earthquake", "--url", url, env={"SEMSEARCH_API_KEY": ""})
        code, out, _ = _cli("query", "earthquake", "--url", url, "--json", env={"SEMSEARCH_API_KEY": "s3cret"})
        invalid, _, bad_k = _cli("query", "earthquake", "--url", url, "-k", "0", env={"SEMSEARCH_API_KEY": "s3cret"})
    assert refused == 1 and "API key" in err and "SEMSEARCH_API_KEY" in err
    assert code == 0 and json.loads(out)["results"][0]["title"] == "Earthquake strikes Indonesia"
    assert invalid == 2 and bad_k.startswith("error: ")
