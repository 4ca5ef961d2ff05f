"""Language identification with lingua (accurate on short texts and on every script we index).

Texts are identified in batches on all cores (lingua's Rust core releases the GIL). A text whose
letters are almost all in a script that one language alone writes (kana → Japanese, Hangul → Korean,
Hebrew, Greek, Thai, Armenian, Georgian) is identified by its script without asking the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from index.settings import LANGUAGE_SAMPLE_CHARS

# Every language lingua identifies (ISO 639-1) with the script it writes, generated once from
# ``lingua.Language.all()`` and kept here so that validating ``--lang`` loads nothing (tests/test_language.py
# checks it against lingua's own list, so it cannot drift).
LANGUAGE_SCRIPTS: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        "af az bs ca cs cy da de en eo es et eu fi fr ga hr hu id is it la lg lt lv mi ms nb nl nn pl pt ro sk sl "
        "sn so sq st sv sw tl tn tr ts vi xh yo zu".split(),
        "Latin",
    ),
    **dict.fromkeys("be bg kk mk mn ru sr uk".split(), "Cyrillic"),
    **dict.fromkeys("ar fa ur".split(), "Arabic"),
    **dict.fromkeys("hi mr".split(), "Devanagari"),
    "zh": "Han", "ja": "Japanese", "ko": "Hangul", "el": "Greek", "he": "Hebrew", "th": "Thai", "hy": "Armenian",
    "ka": "Georgian", "bn": "Bengali", "gu": "Gujarati", "pa": "Gurmukhi", "ta": "Tamil", "te": "Telugu",
}  # fmt: skip
KNOWN_LANGUAGES: Final = frozenset(LANGUAGE_SCRIPTS)

# Scripts written by one language (of those lingua knows): (first, last code point) -> ISO 639-1.
_SCRIPT_RANGES = (
    (0x3040, 0x30FF, "ja"),  # hiragana, katakana
    (0xAC00, 0xD7AF, "ko"),  # hangul syllables
    (0x1100, 0x11FF, "ko"),
    (0x0590, 0x05FF, "he"),
    (0x0370, 0x03FF, "el"),
    (0x0E00, 0x0E7F, "th"),
    (0x0530, 0x058F, "hy"),
    (0x10A0, 0x10FF, "ka"),
)
# Share of a sample's letters that must be in one such script (Japanese mixes kana with kanji: lower).
_SCRIPT_SHARE = {"ja": 0.2}
_DEFAULT_SHARE = 0.8


# Letter ranges of the script families whose mixing marks an article as multilingual.
_FAMILIES = (
    ((0x41, 0x24F),),  # Latin
    ((0x370, 0x3FF), (0x1F00, 0x1FFF)),  # Greek
    ((0x400, 0x52F),),  # Cyrillic
    ((0x590, 0x5FF),),  # Hebrew
    ((0x600, 0x6FF), (0x750, 0x77F), (0x8A0, 0x8FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),  # Arabic
    ((0x900, 0x97F),),  # Devanagari
    ((0x3040, 0x30FF), (0x3400, 0x9FFF), (0xAC00, 0xD7AF)),  # CJK
)
# A second script holding at least this share of the letters makes an article "mixed".
MIXED_SECOND_SHARE = 0.2


def mixes_scripts(text: str) -> bool:
    """True when a second script family holds a real share of the text's letters (not just a few names)."""
    import numpy as np

    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    counts = sorted((sum(int(((points >= a) & (points <= b)).sum()) for a, b in ranges) for ranges in _FAMILIES),
                    reverse=True)  # fmt: skip
    letters = sum(counts)
    return letters > 0 and counts[1] >= MIXED_SECOND_SHARE * letters


class LanguageDetector:
    """Detects ISO 639-1 codes; the lingua models load lazily on first use."""

    def __init__(self) -> None:
        self._detector: Any = None

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code of ``text`` (lowercase), or None when it has no letters to go on."""
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        """Codes for many texts at once (in parallel), in order."""
        samples = [t[:LANGUAGE_SAMPLE_CHARS] for t in texts]
        out: list[str | None] = [_by_script(s) for s in samples]
        unknown = [i for i, s in enumerate(samples) if out[i] is None and any(ch.isalpha() for ch in s)]
        if unknown:
            found = self._model().detect_languages_in_parallel_of([samples[i] for i in unknown])
            for i, language in zip(unknown, found):
                out[i] = None if language is None else language.iso_code_639_1.name.lower()
        return out

    def _model(self) -> Any:
        if self._detector is None:
            from lingua import LanguageDetectorBuilder

            self._detector = LanguageDetectorBuilder.from_all_languages().build()
        return self._detector


def _by_script(sample: str) -> str | None:
    letters = [ord(ch) for ch in sample if ch.isalpha()]
    if not letters:
        return None
    for first, last, lang in _SCRIPT_RANGES:
        inside = sum(first <= c <= last for c in letters)
        if inside and inside >= _SCRIPT_SHARE.get(lang, _DEFAULT_SHARE) * len(letters):
            return lang
    return None
