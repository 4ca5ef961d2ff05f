"""Cleaning scraped text: Unicode handled deliberately, site chrome and embedded headlines removed."""

from __future__ import annotations

from index.ingest.cleaning import RepeatedLines, clean_scraped, is_chrome, normalise, strip_chrome
from index.ingest.formats.text import read_text
from tests.conftest import SEED_ARTICLE, SEEDS

# The seed article's body paragraphs as published (a sentence-final stop ends each one).
SEED_CHROME = ("Site icon السعودية برس", "Exit mobile version")
SEED_RELATED = (
    "سوليفان يدعي أن إدارة بايدن تترك روسيا والصين وإيران",
    "بلينكن يؤكد قيام إيران بتزويد روسيا بصواريخ باليستية قصيرة المدى",
    "بوتين يصل إلى بيونغ يانغ ويقول إن",
)


def test_seed_article_loses_its_chrome_and_keeps_its_whole_body() -> None:
    raw = (SEEDS / SEED_ARTICLE).read_text(encoding="utf-8")
    record = read_text(raw, SEED_ARTICLE)
    assert isinstance(record, dict)
    assert record["title"] == "روسيا وإيران توقعان معاهدة شراكة قبل أيام من تولي ترامب منصبه"
    text = str(record["text"])
    assert not any(chrome in text for chrome in SEED_CHROME)
    assert not any(headline in text for headline in SEED_RELATED)
    # every body paragraph is kept, character for character
    paragraphs = [line.strip() for line in raw.splitlines() if line.strip().endswith((".", "”.", "».", "”"))]
    body = [p for p in paragraphs if not p.startswith(SEED_RELATED)]
    assert len(body) == 14 and all(p in text for p in body)
    assert len(text) == sum(len(p) for p in body) + 2 * (len(body) - 1)  # joined by blank lines
    removed = record["removed"]
    assert len(removed) == 5 and set(SEED_CHROME) <= set(removed)  # type: ignore[arg-type]


def test_unicode_normalisation_keeps_scripts_and_meaningful_joiners() -> None:
    persian = "می\u200cخواهم"  # ZWNJ is part of Persian spelling
    assert normalise(persian) == persian
    assert normalise("\u200fمرحبا\u200e بالعالم\u202e") == "مرحبا بالعالم"  # bidi controls dropped
    assert normalise("co\u00adoperate\u200b now\ufeff") == "cooperate now"
    assert normalise("e\u0301") == "\u00e9"  # NFC composes
    assert normalise("ﻻ ＡＢ") == "ﻻ ＡＢ"  # presentation forms and full-width letters are left as written
    assert normalise("a  \t b\r\nc\u2028d") == "a b\nc\nd"


def test_chrome_rules_need_a_short_line() -> None:
    assert is_chrome("Share on Facebook") and is_chrome("Exit mobile version") and is_chrome("اقرأ أيضا")
    assert is_chrome("Читайте также:") and is_chrome("Lire aussi:")
    assert not is_chrome("He said he would share on Facebook the pictures taken by the rescue teams on Friday.")


def test_related_headlines_are_removed_only_from_prose() -> None:
    body = ("The minister spoke on Monday.\n\nOfficials confirmed the figures on Tuesday.\n\n"
            "Five things to know about the new budget plan\n\nThe vote is due next week.\n\nBackground\n\n"
            "The plan was first announced in May.")  # fmt: skip
    cleaned = clean_scraped(body)
    assert cleaned.removed == ("Five things to know about the new budget plan",)
    assert "Background" in cleaned.text  # a short section heading stays
    # a list of headlines with no prose around them is not touched
    listing = "First headline about the big storm tonight\n\nSecond headline about the markets rally today"
    assert clean_scraped(listing).removed == ()


def test_lines_repeated_across_a_source_are_boilerplate() -> None:
    footer = "Reporting by our correspondents; editing by the desk"
    texts = [f"Story {i} begins here.\n\nBody {i} goes on.\n\n{footer}" for i in range(4)]
    repeated = RepeatedLines.of(texts).boilerplate()
    assert repeated == {footer}
    assert footer not in strip_chrome(texts[0], repeated).text
    assert RepeatedLines.of(texts[:2]).boilerplate() == frozenset()  # too few articles to tell
