"""Split articles into passages along sentence boundaries, packed to a token budget with overlap."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

# Token counter: texts -> token counts (without special tokens); and text -> token character spans.
CountTokens = Callable[[Sequence[str]], list[int]]
TokenSpans = Callable[[str], list[tuple[int, int]]]

_CLOSERS = re.escape("\"'”’»)]」』）】")
# Terminators of space-separated scripts need whitespace after them; CJK ones do not.
# Latin . ! ? …, Arabic ؟, Urdu ۔, Devanagari danda । ॥, Armenian ։, Ethiopic ።, Burmese ။, Tibetan །
_STOPS = ".!?…؟۔।॥։።။།"
# Matched only from the start of a run of stops, and the run is never given back: a long run of full stops or
# closers without a space after it is scanned once, not once per character (linear in the text).
_SPACED_END = re.compile(rf"(?<![{_STOPS}])[{_STOPS}]++(?:[ \u00a0\u202f]»|[{_CLOSERS}])*(?=\s)")
_CJK_END = re.compile(rf"[。！？｡]+[{_CLOSERS}]*")
_NEWLINE = re.compile(r"\n+")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr vs etc inc ltd co corp gen lt col sgt capt rep sen gov no fig jan feb "
    "mar apr jun jul aug sep sept oct nov dec mt ft approx dept est univ".split()
)
_CLAUSE_BREAK = re.compile(r"[,;:،؛，；：、]\s*")
# the next non-space character, looked up in place (no copy of the rest of the text)
_NEXT_CHAR = re.compile(r"\s*(\S)")
_LAST_WORD = re.compile(r"(\w+)$")


@dataclass(frozen=True)
class Span:
    """Character offsets ``[start, end)`` into the article text, with the span's token count (for a passage, the
    sum of its sentences' counts: the chunker tokenises each sentence once, never the packed passage again)."""

    start: int
    end: int
    n_tokens: int


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (whitespace trimmed), in order, covering all of its non-space text."""
    cuts = {0, len(text)}
    for match in _NEWLINE.finditer(text):
        cuts.add(match.start())
    for match in _CJK_END.finditer(text):
        cuts.add(match.end())
    for match in _SPACED_END.finditer(text):
        if not _is_abbreviation(text, match.start(), match.end()):
            cuts.add(match.end())
    spans = []
    ordered = sorted(cuts)
    for a, b in pairwise(ordered):
        start, end = _trim(text, a, b)
        if start < end:
            spans.append((start, end))
    return spans


def passage_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """The sentences of a passage, as its sentence vectors are pooled and its snippets shown: its
    ``split_sentences``, or the whole passage as one when it has none."""
    return tuple(split_sentences(text)) or ((0, len(text)),)


def _is_abbreviation(text: str, start: int, end: int) -> bool:
    if text[start] != "." or end - start != 1:
        return False
    word = _LAST_WORD.search(text[max(0, start - 12) : start])
    if word is None:
        return False
    token = word.group(1)
    following = _NEXT_CHAR.match(text, end)
    if following and following.group(1).islower():  # "the U.S. economy", "approx. five": the sentence goes on
        return True
    # single letters are initials ("J. Smith") and short lists of known abbreviations ("Dr. Ahmed")
    return (len(token) == 1 and token.isalpha() and token.isupper()) or token.lower() in _ABBREVIATIONS


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


@dataclass(frozen=True)
class Chunker:
    """Packs sentences into passages of at most ``budget`` tokens with ``overlap`` sentences shared."""

    count_tokens: CountTokens
    token_spans: TokenSpans
    budget: int
    overlap: int = 1

    def chunk(self, text: str) -> list[Span]:
        """Passage spans of ``text``; deterministic, and no sentence is ever truncated."""
        if self.budget < 8:
            raise ValueError("passage token budget must be at least 8")
        sentences = split_sentences(text)
        if not sentences:
            return []
        counts = self.count_tokens([text[a:b] for a, b in sentences])
        units: list[Span] = []
        for (a, b), n in zip(sentences, counts):
            units.extend(self._split_long(text, a, b) if n > self.budget else [Span(a, b, n)])
        return self._pack(units)

    def _pack(self, units: list[Span]) -> list[Span]:
        passages: list[Span] = []
        i = 0
        while i < len(units):
            j, total = i, 0
            while j < len(units) and (j == i or total + units[j].n_tokens <= self.budget):
                total += units[j].n_tokens
                j += 1
            passages.append(Span(units[i].start, units[j - 1].end, total))
            if j >= len(units):
                break
            # share the last ``overlap`` units when that still leaves room to move forward
            back = min(self.overlap, j - i - 1)
            while back > 0 and sum(u.n_tokens for u in units[j - back : j + 1]) > self.budget:
                back -= 1
            i = j - back
        return passages

    def _split_long(self, text: str, a: int, b: int) -> list[Span]:
        """Cut an over-long sentence at clause marks, then at token boundaries, into pieces within budget."""
        pieces: list[Span] = []
        clause_cuts = [a] + [a + m.end() for m in _CLAUSE_BREAK.finditer(text[a:b])] + [b]
        clauses = [(s, e) for s, e in (_trim(text, x, y) for x, y in pairwise(clause_cuts)) if s < e]
        counts = self.count_tokens([text[s:e] for s, e in clauses])
        for (s, e), n in zip(clauses, counts):
            if n <= self.budget:
                pieces.append(Span(s, e, n))
                continue
            spans = self.token_spans(text[s:e])
            for k in range(0, len(spans), self.budget):
                window = spans[k : k + self.budget]
                ws, we = _trim(text, s + window[0][0], s + window[-1][1])
                if ws < we:
                    pieces.append(Span(ws, we, len(window)))
        # merge neighbouring clauses back while they fit, so pieces are as long as allowed
        merged: list[Span] = []
        for piece in pieces:
            if merged and merged[-1].n_tokens + piece.n_tokens <= self.budget:
                last = merged.pop()
                piece = Span(last.start, piece.end, last.n_tokens + piece.n_tokens)
            merged.append(piece)
        return merged
