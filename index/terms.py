"""Words to lexical terms, for every script: the tokeniser of the BM25 index and of snippet highlighting.

Query and documents go through the same function, so every folding below only has to be consistent:

- Case is folded (``casefold``) and text is NFKC-normalised per token (full-width forms, ligatures).
- Latin, Greek and Cyrillic letters lose their accents (é → e, ё → е), as users often type them without.
- Arabic-script words lose diacritics and tatweel; alef, yeh, kaf, heh and teh-marbuta variants are unified
  (Arabic and Persian spellings of one name then meet); the Arabic definite article is stripped.
  The Persian zero-width non-joiner splits a word, as most Persian search tools do.
- Digits of every script become ASCII digits; "1,000" becomes "1000" and "7.5" stays one term.
- Scripts written without spaces (Han, kana, Hangul, Thai, Lao, Khmer, Myanmar) become overlapping
  character bigrams (a single character stays a unigram), as Lucene's CJK analyser does: no dictionary needed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import regex

# A word: letters, marks and digits, with a decimal point or thousands separator inside a number.
_WORD = regex.compile(r"(?:[\p{L}\p{M}]+|\p{N}+(?:[.,\u066b\u066c]\p{N}+)*)+(?:['’][\p{L}\p{M}]+)*", regex.V1)
_APOSTROPHE = regex.compile(r"['’]")
_SPACELESS = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]+")
_ARABIC = regex.compile(r"\p{Arabic}")
_ACCENTED_SCRIPTS = regex.compile(r"[\p{Latin}\p{Greek}\p{Cyrillic}\p{Hebrew}]")

_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ئ": "ي", "ک": "ك", "ؤ": "و", "ة": "ه",
        "ۀ": "ه", "ە": "ه", "ھ": "ه", "ـ": None, "\u200c": " ", "\u200d": None,
    }
)  # fmt: skip
_ARABIC_MARKS = regex.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_ARTICLE_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_MAX_CACHED = 200_000


def terms(text: str) -> list[str]:
    """The lexical terms of ``text``, in order (repeats kept, for term frequencies)."""
    out: list[str] = []
    for word in _WORD.findall(text):  # findall: no match objects (a large build's lexical index calls this per row)
        out.extend(_word_terms(word))
    return out


def term_spans(text: str) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """Each word of ``text`` as (start, end, its terms): offsets into ``text`` itself, for highlighting.

    In scripts written without spaces each bigram gets its own span, so a match marks only its characters.
    """
    for match in _WORD.finditer(text):
        word = match.group()
        if _SPACELESS.search(word):
            yield from _spaceless_spans(word, match.start())
        elif found := _word_terms(word):
            yield match.start(), match.end(), found


def _spaceless_spans(word: str, offset: int) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    position = 0
    pieces: list[tuple[int, int]] = []
    for run in _SPACELESS.finditer(word):
        pieces.append((position, run.start()))
        chars = run.end() - run.start()
        pieces += [(run.start() + i, run.start() + i + 2) for i in range(chars - 1)] or [(run.start(), run.end())]
        position = run.end()
    pieces.append((position, len(word)))
    for start, end in pieces:
        if end > start and (found := _word_terms(word[start:end])):
            yield offset + start, offset + end, found


@lru_cache(maxsize=_MAX_CACHED)
def _word_terms(word: str) -> tuple[str, ...]:
    """One surface word to its terms (cached: a corpus has far fewer distinct words than words)."""
    word = unicodedata.normalize("NFKC", word).casefold().replace("\u0640", "")  # tatweel
    out: list[str] = []
    position = 0
    for run in _SPACELESS.finditer(word):
        out.extend(_plain_terms(word[position : run.start()]))
        chars = run.group()
        out.extend([chars] if len(chars) == 1 else [chars[i : i + 2] for i in range(len(chars) - 1)])
        position = run.end()
    out.extend(_plain_terms(word[position:]))
    return tuple(out)


def _plain_terms(word: str) -> list[str]:
    """Terms of a word from a script written with spaces."""
    if not word:
        return []
    number = _number(word) if word[0].isdigit() else None
    if number is not None:
        return [number]
    if _ARABIC.search(word):
        return [t for part in word.translate(_ARABIC_FOLD).split() if (t := _arabic(part))]
    if _ACCENTED_SCRIPTS.search(word):
        word = _strip_accents(word)
    # elisions and possessives: l'élysée → elysee, don't → don, o'brien → brien
    return [part for part in _APOSTROPHE.split(word) if len(part) > 1] or [word]


def _number(word: str) -> str | None:
    """ASCII digits for a number of any script ("١٬٠٠٠" → "1000", "7,5" stays "7,5"); None if not a number."""
    digits = []
    for char in word:
        if char.isdigit():
            digits.append(str(unicodedata.digit(char)))
        elif char in ".,\u066b\u066c":
            digits.append({"\u066b": ".", "\u066c": ","}.get(char, char))
        else:
            return None
    number = "".join(digits)
    # a comma followed by exactly three digits separates thousands
    parts = number.split(",")
    if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]):
        number = "".join(parts)
    return number


def _arabic(word: str) -> str:
    word = _ARABIC_MARKS.sub("", word)
    for prefix in _ARTICLE_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    return word


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))
