"""Language identification with lingua (accurate on short texts and on every script we index)."""

from __future__ import annotations

from typing import Any

from index.settings import LANGUAGE_SAMPLE_CHARS


class LanguageDetector:
    """Detects an ISO 639-1 code; the lingua models load lazily on first use."""

    def __init__(self) -> None:
        self._detector: Any = None

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code of ``text`` (lowercase), or None when it has no letters to go on."""
        sample = text[:LANGUAGE_SAMPLE_CHARS]
        if not any(ch.isalpha() for ch in sample):
            return None
        if self._detector is None:
            from lingua import LanguageDetectorBuilder

            self._detector = LanguageDetectorBuilder.from_all_languages().build()
        language = self._detector.detect_language_of(sample)
        return None if language is None else language.iso_code_639_1.name.lower()
