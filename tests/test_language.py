"""Language detection on short texts in the scripts semsearch indexes."""

from __future__ import annotations

import pytest

from index.language import LanguageDetector

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
