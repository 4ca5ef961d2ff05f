"""Lexical terms: one folding for queries and documents, in every script of the corpus."""

from __future__ import annotations

import pytest

from index.terms import term_spans, terms


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("الإمارات", "الامارات"),  # hamza-on-alef variants
        ("مُحَمَّد", "محمد"),  # diacritics
        ("محـــمد", "محمد"),  # tatweel
        ("مدرسة", "مدرسه"),  # teh marbuta
        ("ایران", "ايران"),  # Persian yeh
        ("کتاب", "كتاب"),  # Persian kaf
        ("Macrón", "macron"),  # accents and case
        ("Ёлка", "елка"),
        ("ＡＢＣ", "abc"),  # full-width forms
        ("١٢٣", "123"),  # Arabic-Indic digits
        ("۱۲۳", "123"),  # Persian digits
        ("1,000", "1000"),  # thousands separator
    ],
)
def test_spelling_variants_meet(a: str, b: str) -> None:
    assert terms(a) == terms(b)


def test_arabic_definite_article_is_stripped_but_short_words_kept() -> None:
    assert terms("والسعودية بالمدرسة الهند") == ["سعوديه", "مدرسه", "هند"]
    assert terms("الى") == ["الي"]  # too short to hold an article


def test_persian_zero_width_non_joiner_splits() -> None:
    assert terms("می\u200cخواهند") == ["مي", "خواهند"]


def test_spaceless_scripts_become_bigrams() -> None:
    assert terms("地震") == ["地震"]
    assert terms("印度尼西亚") == ["印度", "度尼", "尼西", "西亚"]
    assert terms("猫") == ["猫"]
    assert terms("G20峰会") == ["g20", "峰会"]
    assert terms("发生7.5级地震") == ["发生", "7.5", "级地", "地震"]


def test_numbers_and_elisions() -> None:
    assert terms("a 7.5 quake") == ["a", "7.5", "quake"]
    assert terms("l’Élysée d'Orsay") == ["elysee", "orsay"]


def test_spans_point_into_the_original_text() -> None:
    text = "Le président Macrón, à l’Élysée."
    for start, end, found in term_spans(text):
        assert terms(text[start:end]) == list(found)
    assert [text[s:e] for s, e, _ in term_spans(text)][2] == "Macrón"
