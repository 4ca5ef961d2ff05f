"""Language identification with lingua (accurate on short texts and on every script we index).

Only what a text needs is loaded. Its letters are sorted by script first: a script that one language
alone writes (kana → Japanese, Hangul → Korean, Hebrew, Greek, Thai, Armenian, Georgian, Bengali,
Gujarati, Gurmukhi, Tamil, Telugu) decides without lingua; otherwise lingua chooses among the languages
of the text's script only (Latin, Cyrillic, Arabic, Devanagari, Han) — the models of one script, never
all 75. lingua reads a text of LINGUA_LONG_TEXT letters or more by its trigrams alone, so a trigram
("low accuracy") detector gives the same answer at a fraction of the loading; a shorter text, which lingua
reads with 1- to 5-grams, is read that way among the SHORTLIST languages the trigrams rank first, unless the
trigrams are already DECISIVE (so reading a handful of short files loads no 1- to 5-gram model). Lingua's
detectors are built once per set of languages and kept on the ``LanguageDetector`` (lingua itself keeps
each loaded model once per process). Texts are identified in batches on all cores (lingua's Rust core
releases the GIL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from ..settings import LANGUAGE_SAMPLE_CHARS

# Every language lingua identifies (ISO 639-1) with the script it writes (Japanese: Han, for text without
# kana; kana alone decides), generated once from
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
    "zh": "Han", "ja": "Han", "ko": "Hangul", "el": "Greek", "he": "Hebrew", "th": "Thai", "hy": "Armenian",
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
    (0x0980, 0x09FF, "bn"),
    (0x0A80, 0x0AFF, "gu"),
    (0x0A00, 0x0A7F, "pa"),
    (0x0B80, 0x0BFF, "ta"),
    (0x0C00, 0x0C7F, "te"),
)
# Share of a sample's letters that must be in one such script (Japanese mixes kana with kanji: lower).
_SCRIPT_SHARE = {"ja": 0.2}
_DEFAULT_SHARE = 0.8
# Scripts that several languages write, as LANGUAGE_SCRIPTS names them: (first, last code point, script).
_SHARED_SCRIPTS = (
    (0x0041, 0x024F, "Latin"),  # Basic Latin letters to Latin Extended-B
    (0x1E00, 0x1EFF, "Latin"),  # Latin Extended Additional (Vietnamese)
    (0x2C60, 0x2C7F, "Latin"),
    (0xA720, 0xA7FF, "Latin"),
    (0xFF21, 0xFF5A, "Latin"),  # full-width
    (0x0400, 0x052F, "Cyrillic"),
    (0x1C80, 0x1C8F, "Cyrillic"),
    (0x2DE0, 0x2DFF, "Cyrillic"),
    (0xA640, 0xA69F, "Cyrillic"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"),
    (0x08A0, 0x08FF, "Arabic"),
    (0xFB50, 0xFDFF, "Arabic"),
    (0xFE70, 0xFEFF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0xA8E0, 0xA8FF, "Devanagari"),
    (0x3400, 0x9FFF, "Han"),
    (0xF900, 0xFAFF, "Han"),
    (0x20000, 0x3FFFF, "Han"),
)
# A script holding at least this share of a text's letters puts its languages among the candidates.
_CANDIDATE_SHARE = 0.2
# lingua's high-accuracy mode reads a text this long (in characters) by trigrams alone, as its low-accuracy
# mode does (lingua's HIGH_ACCURACY_MODE_MAX_TEXT_LENGTH); counted here in letters, which is stricter.
LINGUA_LONG_TEXT = 120
# A shorter text is read with every n-gram among this many languages, the ones its trigrams rank first...
SHORTLIST = 5
# ...unless its trigrams alone already give one language this confidence: then that language is the answer,
# and lingua's 1- to 5-gram models (~1.5 s to load for a shortlist) are not loaded at all. On the 1,722 NTREX
# headlines (14 languages) it decides 1,076 of them alone, and 1,651 are right with it as without it.
DECISIVE = 0.999


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
    """Detects ISO 639-1 codes; lingua's detectors are built lazily, from the languages a text needs."""

    def __init__(self) -> None:
        # (languages, low accuracy) -> lingua detector; languages () means all of them
        self._detectors: dict[tuple[tuple[str, ...], bool], Any] = {}
        # languages identified so far (the corpus's languages): every short text is also weighed against them
        self._seen: set[str] = set()

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code of ``text`` (lowercase), or None when it has no letters to go on."""
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        """Codes for many texts at once (in parallel), in order."""
        samples = [t[:LANGUAGE_SAMPLE_CHARS] for t in texts]
        out: list[str | None] = [None] * len(samples)
        by_candidates: dict[tuple[str, ...], list[int]] = {}
        for i, sample in enumerate(samples):
            letters = [ord(ch) for ch in sample if ch.isalpha()]
            if not letters:
                continue
            decided = _by_script(letters)
            if decided is not None:
                out[i] = decided
                continue
            by_candidates.setdefault(_candidates(letters), []).append(i)
        for candidates, positions in by_candidates.items():
            for i, lang in zip(positions, self._identify(candidates, [samples[i] for i in positions])):
                out[i] = lang
        self._seen.update(lang for lang in out if lang)
        return out

    def _identify(self, candidates: tuple[str, ...], samples: list[str]) -> list[str | None]:
        """lingua's answer among ``candidates`` (all languages when empty) for each sample."""
        screen = self._lingua(candidates, low_accuracy=True)
        ranked = screen.compute_language_confidence_values_in_parallel(samples)
        out: list[str | None] = []
        short: list[tuple[int, list[str]]] = []
        for i, (sample, values) in enumerate(zip(samples, ranked)):
            long_text = sum(ch.isalpha() for ch in sample) >= LINGUA_LONG_TEXT
            if long_text or (values and values[0].value >= DECISIVE):
                out.append(_winner(values))  # trigrams alone: lingua's answer, or one no other n-gram would change
                continue
            out.append(None)
            short.append((i, [v.language.iso_code_639_1.name.lower() for v in values if v.value > 0]))
        self._seen.update(lang for lang in out if lang)  # the long texts of this batch count for its short ones
        by_shortlist: dict[tuple[str, ...], list[int]] = {}
        for i, top in short:
            # weighed among the languages the trigrams rank first and the corpus's languages of this script;
            # with no ranking at all (a word or two), among every language of the script
            allowed = set(candidates) if candidates else KNOWN_LANGUAGES
            shortlist = set(top[:SHORTLIST]) | (self._seen & allowed) if top else set(candidates)
            by_shortlist.setdefault(tuple(sorted(shortlist)), []).append(i)
        short_found = self._short(by_shortlist, samples)
        for i, lang in short_found.items():
            out[i] = lang
        return out

    def _short(self, by_shortlist: dict[tuple[str, ...], list[int]], samples: list[str]) -> dict[int, str | None]:
        """Short texts read with every n-gram (lingua's high accuracy) among each one's shortlist."""
        out: dict[int, str | None] = {}
        for shortlist, positions in by_shortlist.items():
            if len(shortlist) == 1:
                found: list[Any] = [_language(shortlist[0])] * len(positions)
            else:
                found = self._lingua(shortlist, low_accuracy=False).detect_languages_in_parallel_of(
                    [samples[i] for i in positions]
                )
            for i, language in zip(positions, found):
                out[i] = None if language is None else language.iso_code_639_1.name.lower()
        return out

    def _lingua(self, languages: tuple[str, ...], *, low_accuracy: bool) -> Any:
        key = (languages, low_accuracy)
        if key not in self._detectors:
            from lingua import LanguageDetectorBuilder

            builder = (
                LanguageDetectorBuilder.from_languages(*map(_language, languages))
                if languages
                else LanguageDetectorBuilder.from_all_languages()
            )
            self._detectors[key] = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()
        return self._detectors[key]


def _language(code: str) -> Any:
    from lingua import IsoCode639_1, Language

    return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))


def _winner(values: Sequence[Any]) -> str | None:
    """lingua's detected language from its ranked confidence values (None when the top two tie)."""
    if not values or values[0].value <= 0 or (len(values) > 1 and values[0].value == values[1].value):
        return None
    return str(values[0].language.iso_code_639_1.name.lower())


def _by_script(letters: list[int]) -> str | None:
    for first, last, lang in _SCRIPT_RANGES:
        inside = sum(first <= c <= last for c in letters)
        if inside and inside >= _SCRIPT_SHARE.get(lang, _DEFAULT_SHARE) * len(letters):
            return lang
    return None


def _candidates(letters: list[int]) -> tuple[str, ...]:
    """The languages of the scripts holding a real share of ``letters`` (sorted); () for all languages when
    none of them is a script several languages share."""
    counts: dict[str, int] = {}
    for c in letters:
        for first, last, script in _SHARED_SCRIPTS:
            if first <= c <= last:
                counts[script] = counts.get(script, 0) + 1
                break
    scripts = {s for s, n in counts.items() if n >= _CANDIDATE_SHARE * len(letters)}
    if not scripts:
        return ()
    return tuple(sorted(code for code, script in LANGUAGE_SCRIPTS.items() if script in scripts))
