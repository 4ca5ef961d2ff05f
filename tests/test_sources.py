"""Reading articles: formats, titles, ids, hashes, language, and bad files skipped by name."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from index import Settings, build_index, open_index
from index.ingest.walk import iter_articles, split_title
from index.models import Article, Repaired, Skipped
from tests.conftest import SEED_ARTICLE, SEEDS, HashEmbedder, write_corpus


def read(paths: list[Path], repaired: list[Repaired] | None = None) -> tuple[dict[str, Article], list[Skipped]]:
    articles: dict[str, Article] = {}
    skipped: list[Skipped] = []
    for item in iter_articles(paths):
        if isinstance(item, Skipped):
            skipped.append(item)
        elif isinstance(item, Repaired):
            (repaired if repaired is not None else []).append(item)
        else:
            articles[item.id] = item
    return articles, skipped


def test_reads_every_format_recursively(corpus: Path) -> None:
    articles, skipped = read([corpus])
    assert skipped == []
    assert set(articles) == {"en_quake.txt", "en_football.txt", "ar_treaty.txt", "zh_rain.txt",
                             "nested/ru_space.md", "fr-1", "fa-1"}  # fmt: skip
    assert articles["nested/ru_space.md"].title == "Запуск ракеты"
    fr = articles["fr-1"]
    assert (fr.url, fr.date, fr.source, fr.lang) == ("https://example.org/fr-1", "2024-03-04", "Exemple", "fr")
    assert articles["en_quake.txt"].text.startswith("A strong earthquake")


def test_language_is_detected_per_article(corpus: Path) -> None:
    articles, _ = read([corpus])
    langs = {a.id: a.lang for a in articles.values()}
    assert langs == {"en_quake.txt": "en", "en_football.txt": "en", "ar_treaty.txt": "ar", "zh_rain.txt": "zh",
                     "nested/ru_space.md": "ru", "fr-1": "fr", "fa-1": "fa"}  # fmt: skip


def test_title_rules() -> None:
    assert split_title("Title\n\nBody text.") == ("Title", "Body text.")
    assert split_title("\n\nShort title\nBody on the next line.") == ("Short title", "Body on the next line.")
    long_line = "x " * 200
    assert split_title(long_line + "\nmore") == ("", (long_line + "\nmore").strip("\n"))
    assert split_title("Only one line") == ("", "Only one line")
    assert split_title("# Heading\nbody", markdown=True) == ("Heading", "body")


def test_ids_and_hashes_are_stable(corpus: Path) -> None:
    first, _ = read([corpus])
    again, _ = read([corpus])
    assert {k: v.content_hash for k, v in first.items()} == {k: v.content_hash for k, v in again.items()}
    (corpus / "en_quake.txt").write_text("Earthquake strikes Indonesia\n\nChanged body.", encoding="utf-8")
    changed, _ = read([corpus])
    assert changed["en_quake.txt"].content_hash != first["en_quake.txt"].content_hash


def test_bad_files_are_skipped_by_name(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"good.txt": "Good\n\nSome text here.", "empty.txt": "   \n",
                                           "title_only.txt": "Just a title\n\n", "data.csv": "a,b"})  # fmt: skip
    french = "Le café crème coûte désormais trois euros à Paris, où les cafés ferment plus tôt qu'avant l'été."
    (folder / "latin1.txt").write_bytes(french.encode("latin-1"))
    (folder / "bad.jsonl").write_text('{"id": "ok", "text": "fine text"}\nnot json\n{"id": "x"}\n[1]\n')
    (folder / "bad.json").write_text("{broken")
    (folder / ".hidden.txt").write_text("Hidden\n\nnot indexed")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    repaired: list[Repaired] = []
    articles, skipped = read([folder, tmp_path / "missing"], repaired)
    assert set(articles) == {"good.txt", "ok", "latin1.txt"}
    assert articles["latin1.txt"].text == french  # decoded with a detected charset, and reported
    assert [r.path for r in repaired] == ["latin1.txt"] and "not UTF-8" in repaired[0].what
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["empty.txt"] == "empty file"
    assert "no text" in reasons["title_only.txt"]
    assert "no column 'text'" in reasons["data.csv"] and "'a', 'b'" in reasons["data.csv"]
    assert "unsupported" in reasons["image.png"] and "binary" in reasons["blob.txt"]
    assert "invalid JSON" in reasons["bad.jsonl#2"]
    assert "no text" in reasons["bad.jsonl#3"]
    assert "JSON object" in reasons["bad.jsonl#4"]
    assert "invalid JSON" in reasons["bad.json"]
    assert reasons[str(tmp_path / "missing")] == "no such file or folder"


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    rows = [{"id": "a", "text": "first"}, {"id": "a", "text": "second"}]
    (tmp_path / "x.json").write_text(json.dumps(rows))
    articles, skipped = read([tmp_path / "x.json"])
    assert list(articles) == ["a"] and "duplicate" in skipped[0].reason


def test_seeds_folder_reads_all_articles_and_ignores_notices() -> None:
    articles, skipped = read([SEEDS])
    assert skipped == []
    assert len(articles) == 103
    assert articles[SEED_ARTICLE].lang == "ar"
    assert not any(a.endswith((".md", ".tsv")) for a in articles)


def test_the_seed_articles_carry_the_dates_their_sources_state() -> None:
    """Issue 19.9: each Wikinews article is dated by the line under its title, the date SOURCES.md records
    from the source; NTREX (whose sources give a year only) and the seed article (no date in its text) stay
    undated rather than get an invented day."""
    articles, _ = read([SEEDS])
    stated = dict(re.findall(r"^\| (wikinews_\d\d_en\.txt) \|.*, (\d{4}-\d\d-\d\d)\) \|$",
                             (SEEDS / "demo" / "SOURCES.md").read_text(encoding="utf-8"), re.MULTILINE))  # fmt: skip
    assert len(stated) == 12
    assert {name: articles[f"demo/{name}"].date for name in stated} == stated
    assert {a.date for name, a in articles.items() if "ntrex_" in name or name == SEED_ARTICLE} == {None}


def test_a_lone_surrogate_is_repaired_and_the_build_goes_on(settings: Settings, tmp_path: Path) -> None:
    """Issue 18.5: a JSONL record with a lone surrogate ("\\ud800") no longer aborts the build: the character
    becomes U+FFFD, the record is indexed and reported as repaired, and the other records are indexed too."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "feed.jsonl").write_text(
        '{"id": "bad", "title": "Broken \\ud800 title", "text": "A report with a broken \\udfff character."}\n'
        '{"id": "pair", "text": "An emoji written as a pair \\ud83d\\ude00 is one character."}\n'
        '{"id": "good", "text": "A perfectly ordinary report about the weather."}\n',
        encoding="ascii",
    )
    report = build_index([folder], settings, embedder=HashEmbedder())
    assert report.manifest.articles == 3 and report.manifest.skipped == 0
    assert [(r.path, "U+FFFD" in r.what, "in text, title" in r.what) for r in report.repaired] == [
        ("feed.jsonl#1", True, True)
    ]
    store = open_index(settings.index_dir).store
    bad, pair = store.article("bad"), store.article("pair")
    assert bad is not None and pair is not None
    assert bad.title == "Broken \ufffd title" and bad.text == "A report with a broken \ufffd character."
    assert "\U0001f600" in pair.text  # a valid pair is one character, not a repair


def test_links_leaving_the_source_folder_are_not_followed(tmp_path: Path, settings: Settings) -> None:
    """Issue 18.12: a symlink in a source folder to a file or folder elsewhere (a secret) was indexed and
    searchable. Such links are skipped by name unless follow_links says otherwise; links that stay inside
    the folder are read once, and a link cycle does not loop."""
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    corpus.mkdir()
    elsewhere.mkdir()
    (corpus / "report.txt").write_text("Storm\n\nA storm closed the harbour for two days.", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("Password\n\nThe vault password is hunter2.", encoding="utf-8")
    (elsewhere / "private.txt").write_text("Diary\n\nMy private notes about the merger.", encoding="utf-8")
    (corpus / "secret.txt").symlink_to(tmp_path / "secret.txt")
    (corpus / "notes").symlink_to(elsewhere, target_is_directory=True)
    (corpus / "again.txt").symlink_to(corpus / "report.txt")  # inside: the same article, read once
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)  # a cycle

    report = build_index([corpus], settings, embedder=HashEmbedder())
    store = open_index(settings.index_dir).store
    assert report.manifest.articles == 1 and report.republished == []
    assert store.article("report.txt") is not None
    assert store.article("secret.txt") is None and store.article("notes/private.txt") is None
    assert sorted((s.path, s.reason) for s in report.skipped) == [
        ("notes", f"a link to a folder outside {corpus}; pass --follow-links to index it"),
        ("secret.txt", f"a link to a file outside {corpus}; pass --follow-links to index it"),
    ]

    followed = replace(settings, index_dir=tmp_path / "followed", follow_links=True)
    report = build_index([corpus], followed, embedder=HashEmbedder())
    store = open_index(followed.index_dir).store
    assert report.manifest.articles == 3 and report.skipped == [] and report.republished == []
    for article_id in ("report.txt", "secret.txt", "notes/private.txt"):
        assert store.article(article_id) is not None, article_id
