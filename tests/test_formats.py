"""Every input format through ``iter_articles``: web pages, feeds, exports, archives and bad input."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from index import Settings, build_index, open_index
from index.ingest.formats import ReadOptions
from index.ingest.walk import iter_articles
from index.models import Article, Repaired, Skipped
from search import SearchEngine
from tests.conftest import HashEmbedder, shared_path

PAGES = Path(__file__).resolve().parent / "pages"


def read(
    paths: list[Path], options: ReadOptions | None = None
) -> tuple[dict[str, Article], dict[str, str], dict[str, str]]:
    articles, skipped, repaired = {}, {}, {}
    for item in iter_articles(paths, options=options):
        if isinstance(item, Skipped):
            skipped[item.path] = item.reason
        elif isinstance(item, Repaired):
            repaired[item.path] = item.what
        else:
            articles[item.id] = item
    return articles, skipped, repaired


def test_web_page_main_text_and_metadata() -> None:
    articles, _, _ = read([PAGES / "news_en.html"])
    page = articles["news_en.html"]
    assert page.title == "Flood waters recede in Valencia as clean-up begins"
    assert page.text.startswith("Residents of the Valencia region") and page.text.endswith("caused the disaster.")
    for chrome in ("cookies", "Related stories", "Storm warning", "Terrible news", "newsletter", "All rights",
                   "Business", "By Maria Lopez"):  # fmt: skip
        assert chrome not in page.text
    assert (page.date, page.source, page.author, page.url, page.lang) == (
        "2024-11-02T08:15:00+01:00", "The Daily Example", "Maria Lopez", "https://daily.example/world/valencia-floods", "en"
    )  # fmt: skip


def test_right_to_left_page_with_an_english_navigation_bar() -> None:
    articles, _, _ = read([PAGES / "news_ar_rtl.html"])
    page = articles["news_ar_rtl.html"]
    assert page.lang == "ar" and page.source == "السعودية برس" and page.date == "2025-01-17T09:30:00+03:00"
    assert page.text.startswith("يعمل اثنان من خصوم أمريكا")
    assert not any(word in page.text for word in ("Home", "Contact", "Log in", "Facebook", "Copyright"))


def test_inline_newsletter_and_read_also_links_are_dropped() -> None:
    articles, _, _ = read([PAGES / "inline_chrome.html"])
    page = articles["inline_chrome.html"]
    assert "Lire aussi" not in page.text and "newsletter" not in page.text and "Encore une grève" not in page.text
    assert page.text.count("\n\n") == 3 and page.date == "2024-03-07" and page.lang == "fr"


def test_a_page_in_a_declared_legacy_charset_is_decoded_and_reported(tmp_path: Path) -> None:
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256"></head><body>'
            "<article><h1>روسيا وإيران توقعان معاهدة شراكة</h1><p>يعمل اثنان من خصوم أمريكا على ترسيخ علاقاتهما "
            "قبل أيام قليلة من عودة الرئيس المنتخب ترامب التاريخية إلى المكتب البيضاوي في واشنطن.</p></article>"
            "</body></html>")  # fmt: skip
    (tmp_path / "legacy.html").write_bytes(page.encode("cp1256"))
    articles, _, repaired = read([tmp_path])
    assert articles["legacy.html"].text.startswith("يعمل اثنان") and "windows-1256" in repaired["legacy.html"]


def test_a_page_without_an_article_is_skipped_by_name() -> None:
    _, skipped, _ = read([PAGES / "no_article.html"])
    assert "no article text" in skipped["no_article.html"]


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Example Wire</title><language>en</language>
<item><title>Quake hits Sulawesi</title><link>https://wire.example/1</link><guid>wire-1</guid>
<pubDate>Fri, 28 Sep 2018 18:30:00 +0800</pubDate>
<content:encoded><![CDATA[<p>A 7.5 magnitude quake struck Sulawesi on Friday.</p><p>A tsunami followed within minutes.</p>]]></content:encoded></item>
<item><title>Markets rally</title><link>https://wire.example/2</link><pubDate>sometime last week</pubDate>
<description>Stocks rose in Tokyo on Monday as the yen weakened against the dollar.</description></item>
<item><title>Empty</title><link>https://wire.example/3</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom News</title>
<entry><title>Выборы в Македонии</title><id>urn:atom:1</id><link href="https://atom.example/1"/>
<updated>2018-09-30T12:00:00Z</updated><summary>Македонцы голосуют на референдуме о названии страны.</summary></entry>
</feed>"""


def test_rss_and_atom_entries_become_articles(tmp_path: Path) -> None:
    (tmp_path / "wire.rss").write_text(RSS, encoding="utf-8")
    (tmp_path / "news.atom").write_text(ATOM, encoding="utf-8")
    articles, skipped, repaired = read([tmp_path])
    quake = articles["wire-1"]
    assert quake.text == "A 7.5 magnitude quake struck Sulawesi on Friday.\n\nA tsunami followed within minutes."
    assert (quake.url, quake.date, quake.source) == (
        "https://wire.example/1",
        "2018-09-28T18:30:00+08:00",
        "Example Wire",
    )
    markets = articles["https://wire.example/2"]
    assert markets.date is None and "not understood" in repaired["wire.rss#2"]  # kept, date dropped, reported
    assert "without content" in skipped["wire.rss#3"]
    atom = articles["urn:atom:1"]
    assert (atom.lang, atom.date, atom.url) == ("ru", "2018-09-30T12:00:00+00:00", "https://atom.example/1")


def test_csv_with_a_column_mapping_streams_rows(tmp_path: Path) -> None:
    rows = "headline,body,published,outlet\n" + "".join(
        f'"Story {i}","Body of story {i}, with a comma\nand a second line.",2024-05-0{1 + i % 9},Outlet {i % 2}\n'
        for i in range(50)
    )  # fmt: skip
    (tmp_path / "export.csv").write_text(rows, encoding="utf-8")
    options = ReadOptions(fields={"title": "headline", "text": "body", "date": "published", "source": "outlet"})
    articles, skipped, _ = read([tmp_path / "export.csv"], options)
    assert len(articles) == 50 and skipped == {}
    first = articles["export.csv#2"]
    assert (first.title, first.date, first.source) == ("Story 0", "2024-05-01", "Outlet 0")
    assert first.text == "Body of story 0, with a comma\nand a second line."
    # a column mapped for this file that it does not have: the file is skipped, naming the column and the real ones
    _, skipped, _ = read([tmp_path / "export.csv"], ReadOptions(fields={"export.csv:text": "content"}))
    assert "no column 'content' (for text)" in skipped["export.csv"] and "'body'" in skipped["export.csv"]
    # mapped for every file: it would be left out here, but the file has no column 'text' either
    _, skipped, _ = read([tmp_path / "export.csv"], ReadOptions(fields={"text": "content"}))
    assert "no column 'content' or 'text' (for text)" in skipped["export.csv"] and "'body'" in skipped["export.csv"]


MIXED = {
    "feed.jsonl": '{"id": "j1", "title": "Harvest", "text": "Farmers brought in a record harvest this autumn."}\n'
    '{"id": "j2", "title": "Rain", "text": "Rain fell for a week.", "body": "A stray body key."}\n',
    "export.csv": "headline,body\nQuake,A strong quake hit the coast on Friday.\n",
}


def test_a_field_mapping_applies_only_where_its_column_exists_and_says_where_not(tmp_path: Path) -> None:
    """Issue 19.13: a JSONL that uses `text` beside a CSV that uses `body`, built with `--field text=body`:
    both are read (each record by the key it has), and the build names the file and records left out."""
    for name, content in MIXED.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    options = ReadOptions(fields={"text": "body", "title": "headline"})
    articles, skipped, repaired = read([tmp_path], options)
    assert skipped == {}
    assert {a: articles[a].text for a in ("j1", "j2", "export.csv#2")} == {
        "j1": "Farmers brought in a record harvest this autumn.",
        "j2": "A stray body key.",  # this record has the mapped key: it applies
        "export.csv#2": "A strong quake hit the coast on Friday.",
    }
    assert (articles["j1"].title, articles["export.csv#2"].title) == ("Harvest", "Quake")
    assert repaired == {
        "feed.jsonl": "--field text=body left out where it does not apply (1 of 2 records have no key 'body'; text "
        "read from 'text' there); --field title=headline left out where it does not apply (no record has key "
        "'headline'; title read from 'title' there)"
    }
    # a CSV that lacks a column mapped for every file says so too
    (tmp_path / "export.csv").write_text("headline,body,published\nQuake,A quake hit.,2018-09-28\n", encoding="utf-8")
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "index",
                        fields=(("text", "body"), ("author", "byline")))  # fmt: skip
    report = build_index([tmp_path], settings, embedder=HashEmbedder())
    assert report.manifest.articles == 3
    assert {r.path: r.what for r in report.repaired} == {
        "export.csv": "--field author=byline left out (no column 'byline'; author read from 'author')",
        "feed.jsonl": "--field text=body left out where it does not apply (1 of 2 records have no key 'body'; text "
        "read from 'text' there); --field author=byline left out where it does not apply (no record has key "
        "'byline'; author read from 'author' there)",
    }


def test_a_field_mapping_for_one_file_leaves_the_others_alone(tmp_path: Path) -> None:
    """Issue 19.13: `--field export.csv:text=body` maps the CSV only; the JSONL's stray `body` key is not read."""
    from search.cli import parse_fields

    for name, content in MIXED.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    fields = parse_fields(["export.csv:text=body", "title=headline"])
    assert fields == (("export.csv:text", "body"), ("title", "headline"))
    articles, skipped, repaired = read([tmp_path], ReadOptions(fields=dict(fields)))
    assert skipped == {} and articles["j2"].text == "Rain fell for a week."
    assert articles["export.csv#2"].text == "A strong quake hit the coast on Friday."
    assert repaired == {"feed.jsonl": "--field title=headline left out where it does not apply (no record has key "
                                      "'headline'; title read from 'title' there)"}  # fmt: skip
    # the file named in a path or inside an archive; another file of the same ending is not it
    mapping = ReadOptions(fields={"export.csv:text": "body"}).mapping
    assert mapping("news/export.csv").own == mapping("a.zip!export.csv").own == {"text": "body"}
    assert mapping("old-export.csv").own == {}


def test_semicolon_separated_csv_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "eu.csv").write_text(
        "title;text;date\nGrève;Les transports sont perturbés jeudi, selon la SNCF.;07/03/2024\n"
    )
    articles, skipped, _ = read([tmp_path])
    assert skipped == {} and articles["eu.csv#2"].title == "Grève" and articles["eu.csv#2"].text.startswith("Les")


def test_jsonl_field_mapping_and_tsv(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps({"uid": "x1", "headline": "H", "body": "Some body text here."}) + "\n")
    (tmp_path / "b.tsv").write_text("uid\theadline\tbody\nt1\tTSV story\tTabs separate these columns.\n")
    options = ReadOptions(fields={"id": "uid", "title": "headline", "text": "body"})
    articles, skipped, _ = read([tmp_path], options)
    assert set(articles) == {"x1", "t1"} and skipped == {}
    assert articles["t1"].title == "TSV story"


def test_compressed_inputs_are_read_without_unpacking(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "feed.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "g1", "text": "Gzipped article text about the harvest."}) + "\n")
    with zipfile.ZipFile(tmp_path / "pages.zip", "w") as archive:
        archive.write(PAGES / "news_en.html", "site/news_en.html")
        archive.writestr("notes/brief.txt", "Brief\n\nA short brief about the weather in Oslo on Monday.")
        archive.writestr("__MACOSX/._junk", b"\x00\x01")
    articles, skipped, _ = read([tmp_path])
    assert set(articles) == {"g1", "pages.zip!site/news_en.html", "pages.zip!notes/brief.txt"}
    assert articles["pages.zip!site/news_en.html"].title.startswith("Flood waters")
    assert skipped == {}
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "broken.txt.gz").write_bytes(b"\x1f\x8b\x08 truncated")
    _, skipped, _ = read([tmp_path])
    assert "unreadable" in skipped["broken.zip"] and "unreadable" in skipped["broken.txt.gz"]


def test_oversized_single_documents_are_refused_but_streams_are_not(tmp_path: Path) -> None:
    small = ReadOptions(max_document_bytes=1_000)
    (tmp_path / "big.html").write_text("<p>" + "word " * 1_000 + "</p>")
    (tmp_path / "big.jsonl").write_text(
        "".join(json.dumps({"id": f"r{i}", "text": "line " * 50}) + "\n" for i in range(40))
    )
    articles, skipped, _ = read([tmp_path], small)
    assert "larger than" in skipped["big.html"] and "JSONL" in skipped["big.html"]
    assert len(articles) == 40  # 10 KB of JSONL, streamed record by record


@pytest.mark.parametrize("suffix", [".html", ".rss", ".csv", ".jsonl", ".json"])
def test_binary_or_empty_files_in_any_format_are_skipped(tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"blob{suffix}").write_bytes(b"\x00\xff\x00\x13binary" * 50)
    (tmp_path / f"empty{suffix}").write_bytes(b"")
    articles, skipped, _ = read([tmp_path])
    assert articles == {} and set(skipped) == {f"blob{suffix}", f"empty{suffix}"}


@pytest.mark.slow  # seconds: a whole benchmark run, starting Ray, or extracting NTREX pages
def test_ntrex_pages_and_jsonl_agree(tmp_path: Path) -> None:
    """The same articles (title, text, date) from an HTML page and from its JSONL record."""
    import sys

    shared_path("corpus-ntrex")  # skips without ../shared (fails in CI, which has it)
    sys.path.insert(0, str(PAGES.parent.parent / "benchmarks"))
    import ntrex

    ntrex.write_html(tmp_path / "html", limit=48)
    rows = ntrex.articles(paragraphs=True)[:48]
    (tmp_path / "n.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    pages, skipped, _ = read([tmp_path / "html"])
    records, _, _ = read([tmp_path / "n.jsonl"])
    assert skipped == {} and len(pages) == len(records) == 48
    for key, record in records.items():
        page = pages[f"{key}.html"]
        assert (page.title, page.text, page.lang) == (record.title, record.text, record.lang), key
    # built into two indexes (plumbing embedder): the same passages and the same hits
    engines = {}
    for name, source in (("html", tmp_path / "html"), ("jsonl", tmp_path / "n.jsonl")):
        settings = Settings(home=tmp_path, index_dir=tmp_path / f"idx-{name}")
        build_index([source], settings, embedder=HashEmbedder())
        engines[name] = SearchEngine(open_index(settings.index_dir), HashEmbedder())
    texts = {}
    for name, engine in engines.items():
        body_ids = engine.index.rows.ids[engine.index.rows.ids < 1 << 40].tolist()
        texts[name] = sorted(row.passage.text for row in engine.index.store.passages(body_ids).values())
    assert texts["html"] == texts["jsonl"] and len(texts["html"]) > 48
    for query in ("earthquake tsunami", "Warren presidential run", "Brexit vote"):
        hits = {name: [(h.article_id.removesuffix(".html"), h.passage) for h in e.search(query, k=10).results]
                for name, e in engines.items()}  # fmt: skip
        assert hits["html"] == hits["jsonl"], query


def test_a_scraped_pages_site_icon_line_names_its_outlet() -> None:
    """Issue 19.15: the source of a scraped text whose chrome names the site is that site, not its file name."""
    from index.ingest.formats.text import read_text

    read = read_text("Site icon السعودية برس\n\nروسيا وإيران توقعان معاهدة\n\nنص المقال هنا.\n", "seed.txt")
    assert isinstance(read, dict) and read["source"] == "السعودية برس" and read["title"] == "روسيا وإيران توقعان معاهدة"
    assert "source" not in read_text("A title\n\nA body without chrome.\n", "plain.txt")  # type: ignore[operator]


def test_json_nested_100000_levels_deep_is_skipped_by_name(tmp_path: Path) -> None:
    """Issue 18.6: a .json nested 100,000 levels deep (and a JSONL line nested as deep) used to abort the
    build with a RecursionError; each is skipped by name and the rest is indexed."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "deep.jsonl").write_text(
        '{"id": "ok", "text": "A normal record beside a deep one."}\n' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "\n"
    )
    settings = Settings(home=tmp_path / "home", index_dir=tmp_path / "index")
    report = build_index([folder], settings, embedder=HashEmbedder())
    reasons = {s.path: s.reason for s in report.skipped}
    assert report.manifest.articles == 1 and set(reasons) == {"deep.json", "deep.jsonl#2"}
    assert all("nested too deeply" in reason for reason in reasons.values())


def test_feed_entities_are_expanded_in_titles_and_text(tmp_path: Path) -> None:
    """Issue 18 (minor, XML entities): a feed's titles and summaries (escaped once, or twice as many feeds do)
    used to keep "&amp;" and "&eacute;" in the article; they are expanded."""
    (tmp_path / "wire.rss").write_bytes(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Smith &amp;amp; Sons</title>'
        b"<item><guid>1</guid><title>AT&amp;amp;T &amp; Verizon &amp;quot;merge&amp;quot;</title>"
        b"<description>Tom &amp;amp; Jerry spent the &amp;eacute;t&amp;eacute; in Paris, the agency said on "
        b"Monday.</description></item>"
        b"<item><guid>2</guid><title>Fish &amp;#38; chips</title><description>&lt;p&gt;Fish &amp;amp;amp; chips "
        b"sold out at the seaside caf&amp;eacute; by noon.&lt;/p&gt;</description></item></channel></rss>"
    )
    articles, skipped, _ = read([tmp_path / "wire.rss"])
    assert skipped == {}
    first, second = articles["1"], articles["2"]
    assert (first.title, first.source) == ('AT&T & Verizon "merge"', "Smith & Sons")
    assert first.text == "Tom & Jerry spent the été in Paris, the agency said on Monday."
    assert (second.title, second.text) == ("Fish & chips", "Fish & chips sold out at the seaside café by noon.")
