"""Language, date and source filters: validation, exact top-k among matches, empty results with a note."""

from __future__ import annotations

import json
import shlex
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from index import Settings, build_index, open_index
from index.errors import InvalidQueryError
from search import SearchEngine, parse_filters
from search.api import create_app
from search.cli import app as cli_app
from tests.conftest import ROOT, HashEmbedder, write_corpus

DATED = {
    "news.jsonl": "\n".join(
        [
            '{"id": "a", "title": "Flood in the north", "text": "Rivers burst their banks after rain.", "date": "2024-01-05", "source": "Daily"}',
            '{"id": "b", "title": "Flood warning", "text": "Rain is expected to cause floods.", "date": "2024-03-10T08:00:00+02:00", "source": "Herald"}',
            '{"id": "c", "title": "Crue dans le nord", "text": "Les rivières débordent après la pluie.", "date": "2024-02-01", "source": "Daily"}',
            '{"id": "d", "title": "Undated flood story", "text": "Floods again after rain in the valley."}',
        ]
    ),
    "local/e.txt": "Flood museum opens\n\nA museum about floods and rain opened today.",
}


@pytest.fixture
def engine(tmp_path: Path) -> SearchEngine:
    settings = Settings(home=tmp_path, index_dir=tmp_path / "idx")
    build_index([write_corpus(tmp_path / "c", DATED)], settings, embedder=HashEmbedder())
    return SearchEngine(open_index(settings.index_dir), HashEmbedder())


def ids(engine: SearchEngine, **raw: str) -> list[str]:
    filters = parse_filters(**raw, index_languages=engine.languages())
    return [h.article_id for h in engine.search("flood rain", k=10, filters=filters).results]


def test_each_filter_keeps_exactly_the_matching_articles(engine: SearchEngine) -> None:
    assert sorted(ids(engine)) == ["a", "b", "c", "d", "local/e.txt"]
    assert ids(engine, lang="fr") == ["c"]
    assert sorted(ids(engine, since="2024-02-01")) == ["b", "c"]
    assert sorted(ids(engine, until="2024-02-01")) == ["a", "c"]
    assert sorted(ids(engine, since="2024-01-01", until="2024-12-31", source="Daily")) == ["a", "c"]
    assert ids(engine, source="local/") == ["local/e.txt"]


def test_filtered_top_k_is_the_true_top_k_among_matches(engine: SearchEngine) -> None:
    everything = [h.article_id for h in engine.search("flood rain", k=10).results]
    english = [a for a in everything if a != "c"]
    filters = parse_filters("en", index_languages=engine.languages())
    assert [h.article_id for h in engine.search("flood rain", k=2, filters=filters).results] == english[:2]


def test_a_filter_matching_nothing_gives_an_empty_result_with_a_note(engine: SearchEngine) -> None:
    result = engine.search("flood", filters=parse_filters("ar", index_languages=engine.languages()))
    assert result.results == [] and "lang=ar" in (result.note or "")
    assert engine.search("flood").note is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"lang": "xx"}, "Unknown language code"),
        ({"lang": "en,klingon"}, "'klingon'"),
        ({"since": "yesterday"}, "not a date"),
        ({"until": "2024-13-01"}, "not a date"),
        ({"since": "2024-05-01", "until": "2024-01-01"}, "after"),
    ],
)
def test_bad_filters_are_refused(raw: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidQueryError, match=message):
        parse_filters(**raw)


def test_parse_accepts_lists_dates_and_blank_values() -> None:
    f = parse_filters(["AR", " fa "], date(2024, 1, 1), "", "  ")
    assert f.langs == ("ar", "fa") and f.since == date(2024, 1, 1) and f.until is None and f.source is None


def test_http_filters(engine: SearchEngine) -> None:
    client = TestClient(create_app(engine))
    got = client.get("/query", params={"q": "flood rain", "lang": "fr"}).json()
    assert [h["article_id"] for h in got["results"]] == ["c"]
    posted = client.post("/query", json={"q": "flood rain", "since": "2024-03-01"}).json()
    assert [h["article_id"] for h in posted["results"]] == ["b"]
    bad = client.get("/query", params={"q": "flood", "since": "soon"})
    assert bad.status_code == 422 and "not a date" in bad.json()["error"]["message"]
    empty = client.get("/query", params={"q": "flood", "lang": "ar"}).json()
    assert empty["results"] == [] and empty["note"]


@pytest.mark.parametrize("value", ["2024-01-01junk", "2024-06-30T12:00", "2024-01-01 and more", "20240101",
                                   "2024-W01-1", "٢٠٢٤-٠١-٠١"])  # fmt: skip
def test_a_date_filter_is_the_whole_value(value: str) -> None:
    """Issue 18 (minor, --since/--until strictness): a value is a date only when all of it is YYYY-MM-DD,
    not when its first ten characters are one."""
    with pytest.raises(InvalidQueryError, match="not a date; use YYYY-MM-DD"):
        parse_filters(since=value)
    with pytest.raises(InvalidQueryError, match="not a date; use YYYY-MM-DD"):
        parse_filters(until=value)
    assert parse_filters(since=" 2024-01-01 ").since == date(2024, 1, 1)  # surrounding spaces are not content


def _readme_filter_example() -> list[str]:
    """The arguments of the README's filter example (its line ending in ``# filters``), after ``semsearch``."""
    line = next(ln for ln in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if ln.endswith("# filters"))
    argv = shlex.split(line.split("#")[0])
    assert argv[:2] == ["semsearch", "query"]
    return argv[1:]


@pytest.mark.slow
def test_the_readme_filter_example_finds_dated_seed_articles(seeds_index: Settings) -> None:
    """Issue 19.9: the README's filter example, as written, answers on the bundled articles, and every hit
    matches each of its filters."""
    argv = _readme_filter_example()
    filters = parse_filters(argv[argv.index("--lang") + 1], date.fromisoformat(argv[argv.index("--since") + 1]),
                            date.fromisoformat(argv[argv.index("--until") + 1]), argv[argv.index("--source") + 1])  # fmt: skip
    done = CliRunner().invoke(cli_app, [*argv, "--json", "--index", str(seeds_index.index_dir)])
    assert done.exit_code == 0, done.output
    hits = json.loads(done.stdout)["results"]
    assert hits
    for hit in hits:
        assert filters.since and filters.until and filters.langs and filters.source
        assert hit["lang"] in filters.langs and hit["article_id"].startswith(filters.source)
        assert filters.since.isoformat() <= hit["date"][:10] <= filters.until.isoformat()
