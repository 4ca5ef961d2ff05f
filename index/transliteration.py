"""Names across scripts: lexical terms romanised to consonant keys, so `Putin` meets `بوتين` and `Путин`.

The lexical index has a second field (``index.storage.lexical``): every term of a row written in a non-Latin
script, romanised by anyascii and reduced to a *key*; a query's Latin-script terms are reduced to keys
the same way and matched against it. The key is a consonant skeleton, because that is what survives
a name's trip through another script: Arabic and Persian write no short vowels and use و/ي for long
ones, Russian inflects with vowel endings, and each romanisation spells the same sound its own way.

- romanise (anyascii: ISC licence, pure Python, tables for every script), lowercase, keep a–z;
- drop ``h`` (kh/sh/th/ch and the Arabic ح/ه come out as h or nothing), vowels, ``w`` and ``y``;
- fold letters that another script cannot tell apart: p→b (Arabic has no p), v→f, c/q→k, z→s, x→ks;
- collapse repeated letters ("Massachusetts" → msksts); keys of fewer than three letters are dropped.

Russian and Ukrainian inflect names; the vowel endings vanish with the vowels, and a Cyrillic word with a
case ending in -m (Пезешкианом, Путиным) is keyed with and without it (Максим keeps its own key).

Putin, بوتين, پوتین and Путин all become ``btn``; Pezeshkian, بيزشكيان and پزشکیان ``bskn``; Moscow and
موسكو ``msk``. Keys are lossy on purpose: the BM25 statistics of the field weigh a common key down, and
the lexical coverage gate still asks for most of the query. Han is keyed per character bigram (the
lexical terms of Chinese), so pinyin-spelt names (Beijing → 北京 ``bjng``) meet; names that Chinese
renders by sound into other syllables (普京 "Pu Jing" for Putin) do not.
"""

from __future__ import annotations

from functools import lru_cache

import regex

# Terms whose letters are all Latin (or digits): matched by the ordinary field, keyed only on the query side.
_LATIN = regex.compile(r"[\p{Latin}\p{N}]+")
_HAS_LETTER = regex.compile(r"\p{L}")
_KEY_FOLD = str.maketrans({"p": "b", "v": "f", "c": "k", "q": "k", "z": "s"})
_DROPPED = regex.compile(r"[^a-z]|[aeiouwyh]")
_REPEATS = regex.compile(r"(.)\1+")
# Instrumental/dative case endings of Cyrillic words (a stem of three letters or more must remain).
_CASE_ENDING = regex.compile(r"(?<=\p{Cyrillic}{3})(?:ами|ями|ом|ем|ём|ым|им|ам|ям)$")
# Shorter keys match too much: two consonants (rs, rn) are also رئيس "president" and many other common words.
MIN_KEY_CHARS = 3
_MAX_CACHED = 200_000


def is_latin(term: str) -> bool:
    """True for a term written in Latin letters (or digits only)."""
    return _LATIN.fullmatch(term) is not None


@lru_cache(maxsize=_MAX_CACHED)
def name_key(term: str) -> str | None:
    """The consonant key of one lexical term (any script), or None when too little of it is left."""
    if not _HAS_LETTER.search(term):
        return None  # numbers match in the ordinary field already
    from anyascii import anyascii

    key = anyascii(term).lower().replace("x", "ks")
    key = _REPEATS.sub(r"\1", _DROPPED.sub("", key).translate(_KEY_FOLD))
    return key if len(key) >= MIN_KEY_CHARS else None


def document_keys(row_terms: list[str]) -> list[str]:
    """The keys of a row's non-Latin terms (repeats kept, for term frequencies)."""
    return [key for term in row_terms if not is_latin(term) for key in _term_keys(term)]


@lru_cache(maxsize=_MAX_CACHED)
def _term_keys(term: str) -> tuple[str, ...]:
    """One document term's keys: its own, and its stem's when it has a Cyrillic case ending."""
    stem = _CASE_ENDING.sub("", term)
    keys = dict.fromkeys(k for k in (name_key(term), name_key(stem) if stem != term else None) if k is not None)
    return tuple(keys)


def query_keys(query_terms: list[str]) -> dict[str, str]:
    """Each Latin-script query term with its key (terms without one left out)."""
    return {term: key for term in query_terms if is_latin(term) and (key := name_key(term)) is not None}
