"""Language detection on short texts in the scripts semsearch indexes."""

from __future__ import annotations

import pytest

from index.ingest.language import KNOWN_LANGUAGES, LanguageDetector

DETECTOR = LanguageDetector()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Russia and Iran sign a partnership treaty", "en"),
        ("روسيا وإيران توقعان معاهدة شراكة", "ar"),
        ("روسیه و ایران پیمان همکاری امضا کردند", "fa"),
        ("Россия и Иран подписали договор", "ru"),
        ("俄罗斯和伊朗签署条约", "zh"),
        ("La Russie et l'Iran signent un traité", "fr"),
        ("रूस और ईरान ने संधि पर हस्ताक्षर किए", "hi"),
    ],
)
def test_short_texts(text: str, lang: str) -> None:
    assert DETECTOR.detect(text) == lang


def test_no_letters_no_language() -> None:
    assert DETECTOR.detect("2024 — 17:30 ... 42%") is None


def test_the_static_language_table_is_lingua_s_list() -> None:
    """Issue 16.1 (--lang validation without loading the detector): the committed table of codes equals
    the languages lingua knows, so it cannot drift when lingua is upgraded."""
    from lingua import Language

    assert KNOWN_LANGUAGES == {language.iso_code_639_1.name.lower() for language in Language.all()}


def test_validating_lang_imports_no_language_detector() -> None:
    """Issue 16.1: ``parse_filters`` validates --lang from the static table, never importing lingua."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent

    code = (
        "import sys; from search.filters import parse_filters; f = parse_filters('AR,fa'); "
        "assert f.langs == ('ar', 'fa'), f\n"
        "try:\n    parse_filters('xx')\nexcept Exception as e:\n    assert 'Unknown language' in str(e)\n"
        "print('lingua' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env)
    assert out.stdout.strip() == "False"


def test_a_few_short_texts_load_no_full_ngram_model() -> None:
    """Issue 19.8: two short articles (an English and a French one) are identified from the trigram screen alone:
    no detector with lingua's 1- to 5-gram models is built, which took ~1.5 s per shortlist to load."""
    detector = LanguageDetector()
    texts = ["Waves broke the sea wall on Monday and flooded the old town. Residents were evacuated overnight.",
             "Les métros et les bus sont à l'arrêt ce lundi à Paris. Les syndicats demandent une hausse des salaires."]  # fmt: skip
    assert detector.detect_many(texts) == ["en", "fr"]
    assert [low_accuracy for _, low_accuracy in detector._detectors] == [True]  # one trigram screen (Latin)
