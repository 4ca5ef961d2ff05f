"""Text cleaning: Unicode normalisation that keeps every script intact, and removal of scraped site chrome.

**Normalisation** is NFC (canonical composition only: NFKC would rewrite Arabic presentation forms,
full-width CJK punctuation and ligatures in the stored text that users read). Directional formatting
characters (LRM, RLM, ALM, embeddings, overrides, isolates) are removed: they only steer display, and
a scraper's stray override would scramble the text we show. Zero-width *space*, BOM, word joiner and
soft hyphen go too (invisible, they split or glue words at random). The zero-width *non-joiner* and
*joiner* stay: Persian writes "می‌خواهم" with a ZWNJ, Indic scripts and emoji need the ZWJ. Line
breaks are unified; spaces are collapsed within lines.

**Site chrome** in scraped text (``clean_scraped``) is removed line by line, by three rules:

1. *Known chrome*: short lines matching a list of navigation, sharing and consent phrases in the
   corpus's languages ("Exit mobile version", "Site icon …", "Skip to content", "Share on Facebook",
   "Advertisement", "اقرأ أيضا", "Поделиться" …). Only lines of at most CHROME_MAX_WORDS words: a
   sentence that merely mentions Facebook stays. Also "Read also: <headline>" pointers ("Lire aussi :",
   "اقرأ أيضا:", "Читайте также:" …), which name another article.
2. *Repeated lines*: a line that recurs in at least REPEATED_MIN_ARTICLES articles of one source
   folder, and in at least REPEATED_MIN_SHARE of them, is boilerplate (a footer, a tagline). Applied by
   ``RepeatedLines`` across the files of a folder.
3. *Embedded headlines* (plain text only: in a web page the markup tells them apart): in a body whose
   paragraphs end as sentences do (at least PROSE_SHARE of them end in . ! ? … ؟ 。, before any closing
   quote), a paragraph of HEADLINE_MIN_WORDS to HEADLINE_MAX_CHARS that does not end like a sentence and
   has no comma or sentence stop inside is a related-story headline dropped into the text, and is
   removed. Short section headings (fewer words) are kept.

On the seed article these remove "Site icon السعودية برس", "Exit mobile version" and the three
related-story headlines, and keep every body paragraph (tests/test_cleaning.py counts the characters).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# Format characters removed from text: bidi marks, embeddings, overrides and isolates; zero-width space,
# word joiner, BOM, soft hyphen. ZWNJ (U+200C) and ZWJ (U+200D) are kept (see above).
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff\u00ad")
)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# UTF-16 surrogate code points: JSON's "\ud800" escape puts a lone one in a string, which no encoding can write.
_SURROGATE = re.compile("[\ud800-\udfff]")

CHROME_MAX_WORDS = 8
_CHROME = re.compile(
    r"^(?:"
    r"site icon\b.*|exit mobile version|skip to (?:main )?content|toggle navigation|main menu|menu|search|"
    r"close|home|back to top|scroll to top|share(?: this(?: article| story)?)?:?|tweet|whatsapp|e-?mail|print|"
    r"share on (?:facebook|twitter|x|whatsapp|linkedin|telegram)|follow us(?: on .*)?|click to (?:share|print|email).*|"
    r"advertisement|sponsored(?: content)?|related(?: articles| stories| posts)?:?|read more:?|see also:?|"
    r"you may also like|recommended(?: for you)?|most (?:read|popular)|trending(?: now)?|"
    r"(?:sign up|subscribe)(?: (?:to|for) (?:our|the) newsletter)?\.?|"
    r"accept(?: all)?(?: cookies)?|cookie (?:settings|policy)|we use cookies.*|"
    r"all rights reserved\.?|copyright .*|© .*|loading\.*|"
    r"اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|اقرأ المزيد|شارك|مشاركة|إعلان|تابعنا(?: على .*)?|جميع الحقوق محفوظة.*|"
    r"الرئيسية|بحث|مواضيع ذات صلة|أخبار ذات صلة|"
    r"بیشتر بخوانید|همچنین بخوانید|اشتراک گذاری|تبلیغات|"
    r"читайте также:?|поделиться|реклама|подписывайтесь(?: на .*)?|"
    r"lire aussi:?|partager(?: sur .*)?|publicité|abonnez-vous.*|"
    r"相关(?:新闻|阅读|文章)|分享到?.*|广告|返回顶部"
    r")$",
    re.IGNORECASE,
)
# "Read also: <another story's headline>" lines: a pointer to another article, not part of this one.
RELATED_MAX_WORDS = 30
_RELATED = re.compile(
    r"^(?:read (?:more|also)|see also|related|more on this(?: story)?|lire aussi|à lire aussi|voir aussi|"
    r"leer también|lea también|lesen sie auch|mehr zum thema|اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|اقرأ المزيد|"
    r"بیشتر بخوانید|همچنین بخوانید|читайте также|также читайте|смотрите также|相关阅读|延伸阅读|相关新闻)"
    r"\s*[:：\-–—]\s*\S.*$",
    re.IGNORECASE,
)
REPEATED_MIN_ARTICLES = 3
REPEATED_MIN_SHARE = 0.5
PROSE_SHARE = 0.6
HEADLINE_MIN_WORDS = 6
HEADLINE_MAX_CHARS = 200
_SENTENCE_END = tuple(".!?…؟。！？:;")
# Closing quotes and brackets after a sentence's stop, in every quoting style ("…." «….» „….“ 「…。」).
_CLOSING = "\"'”“’‘»«›‹)]}」』）】"


def normalise(text: str) -> str:
    """NFC, invisible format characters removed, line breaks unified, spaces collapsed within lines (and any
    lone surrogate replaced, see ``without_surrogates``)."""
    text = unicodedata.normalize("NFC", without_surrogates(text)).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).lstrip("\n")


def has_surrogates(text: str) -> bool:
    """True when ``text`` holds UTF-16 surrogate code points (text that cannot be stored as UTF-8)."""
    return _SURROGATE.search(text) is not None


def without_surrogates(text: str) -> str:
    """``text`` with surrogate pairs joined into the characters they encode and lone surrogates replaced by
    U+FFFD (the replacement character), so it can be written as UTF-8."""
    if not has_surrogates(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def is_chrome(line: str) -> bool:
    """True for a short line of navigation, sharing or consent text, or a "Read also: …" pointer."""
    words = line.split()
    if 0 < len(words) <= CHROME_MAX_WORDS and _CHROME.match(line.strip()):
        return True
    return len(words) <= RELATED_MAX_WORDS and bool(_RELATED.match(line.strip()))


@dataclass(frozen=True)
class Cleaned:
    """Scraped text after cleaning, and what was removed (for reports and tests)."""

    text: str
    removed: tuple[str, ...]


def strip_chrome(text: str, repeated: frozenset[str] = frozenset()) -> Cleaned:
    """Drop chrome lines and lines in ``repeated`` (boilerplate of the source); run before the title is taken."""
    removed: list[str] = []
    kept: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and (is_chrome(stripped) or stripped in repeated):
            removed.append(stripped)
        else:
            kept.append(line)
    return Cleaned(re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).lstrip("\n"), tuple(removed))


def clean_scraped(text: str, repeated: frozenset[str] = frozenset()) -> Cleaned:
    """Drop chrome lines, lines in ``repeated`` and embedded headlines from an article body (no title)."""
    lines = text.split("\n")
    removed: list[str] = []
    kept: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped and (is_chrome(stripped) or stripped in repeated):
            removed.append(stripped)
        else:
            kept.append(line)
    paragraphs = [line.strip() for line in kept if line.strip()]
    prose = sum(_ends_sentence(p) for p in paragraphs)
    if paragraphs and prose >= PROSE_SHARE * len(paragraphs):
        out = []
        for line in kept:
            if _looks_like_headline(line.strip()):
                removed.append(line.strip())
            else:
                out.append(line)
        kept = out
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    return Cleaned(cleaned, tuple(removed))


def _ends_sentence(line: str) -> bool:
    return line.rstrip(_CLOSING + " \u00a0\u202f").endswith(_SENTENCE_END)


def _looks_like_headline(line: str) -> bool:
    if not line or _ends_sentence(line) or len(line) > HEADLINE_MAX_CHARS:
        return False
    if len(line.split()) < HEADLINE_MIN_WORDS:
        return False  # a short section heading, kept
    # one clause: a headline has no sentence stop and no comma inside (a body sentence missing its stop has)
    inner = line.rstrip(_CLOSING)
    return not any(mark in inner[:-1] for mark in (". ", "! ", "? ", "؟ ", "。", ", ", "، ", "，"))


class RepeatedLines:
    """Lines that recur across the articles of one source: counted in a first pass, then removed."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._articles = 0

    def add(self, text: str) -> None:
        """Count the distinct non-empty lines of one article."""
        self._articles += 1
        self._counts.update({line.strip() for line in text.split("\n") if line.strip()})

    def boilerplate(self) -> frozenset[str]:
        """The lines frequent enough to be boilerplate."""
        if self._articles < REPEATED_MIN_ARTICLES:
            return frozenset()
        floor = max(REPEATED_MIN_ARTICLES, REPEATED_MIN_SHARE * self._articles)
        return frozenset(line for line, n in self._counts.items() if n >= floor)

    @classmethod
    def of(cls, texts: Iterable[str]) -> RepeatedLines:
        """Count the lines of several articles."""
        counter = cls()
        for text in texts:
            counter.add(text)
        return counter
