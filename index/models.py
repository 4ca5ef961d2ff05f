"""The index-side data model: an article, the passages cut from it, and the vector-id scheme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypeVar

T = TypeVar("T")
# How many skipped or repaired inputs a build names; beyond that it only counts them.
MAX_NOTICES = 1_000
# Vector ids: passages are 0..N-1; an article's headline vector is HEADLINE_ID_BASE + its article number.
HEADLINE_ID_BASE = 1 << 40


@dataclass(frozen=True)
class Article:
    """One news article as read from a source, before chunking."""

    id: str
    title: str
    text: str
    lang: str | None
    source: str | None
    url: str | None
    date: str | None
    path: str
    content_hash: str
    author: str | None = None


@dataclass(frozen=True)
class Passage:
    """A span of an article's text; ``start``/``end`` are character offsets into ``Article.text``.

    Computed once per build by the chunker and stored: ``n_tokens`` (the tokens of the text embedded, as the
    chunker counted them), ``embed_hash`` and ``sentences`` (the spans the sentence vectors were pooled from,
    which snippets show)."""

    id: int
    article_id: str
    seq: int
    start: int
    end: int
    text: str
    n_tokens: int  # tokens of the text embedded (title context + passage), without the prompt and specials
    embed_hash: str = ""  # hash of the exact text embedded (title context + passage) and nothing else
    lang: str | None = None  # set only when it differs from the article's (an article mixing languages)
    # the passage's sentences: character offsets ``[start, end)`` into ``text``, in order
    sentences: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Skipped:
    """An input that could not be read as an article, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Repaired:
    """An input that was read, but not as it was: what was done to it (a charset guessed, a date dropped)."""

    path: str
    what: str


@dataclass(frozen=True)
class Republished:
    """Another copy of an article's text kept out of the index (the same story from another source)."""

    article_id: str  # the article that was indexed
    id: str  # the copy
    title: str
    source: str | None
    url: str | None
    date: str | None
    path: str


@dataclass(frozen=True)
class Filter:
    """Which articles a query may return, in the one shape every store understands (SQLite's
    ``Store.article_numbers_where``, a Milvus expression); every field left empty means "any"."""

    langs: tuple[str, ...] = ()  # ISO 639-1 codes
    since: date | None = None  # inclusive; an article without a date never matches a date bound
    until: date | None = None
    source: str | None = None  # the outlet exactly, or a path prefix
    article_ids: tuple[str, ...] | None = None  # only these articles (None: any)

    @property
    def active(self) -> bool:
        """True when a field filter (language, dates, source) is set."""
        return bool(self.langs or self.since or self.until or self.source)

    @property
    def limits(self) -> bool:
        """True when the filter excludes anything: a field filter, or a list of article ids."""
        return self.active or self.article_ids is not None

    def describe(self) -> str:
        """The field filters in words, for notes and messages."""
        parts = [f"lang={','.join(self.langs)}"] if self.langs else []
        parts += [f"since={self.since}"] if self.since else []
        parts += [f"until={self.until}"] if self.until else []
        parts += [f"source={self.source}"] if self.source else []
        return " ".join(parts)


class Notices(list[T]):
    """Skipped or repaired inputs as a build collects them: the first ``limit`` kept by name, every one counted
    in ``total`` (an archive of a billion bad lines must not hold a billion notices)."""

    def __init__(self, limit: int | None = None) -> None:
        super().__init__()
        self.limit = MAX_NOTICES if limit is None else limit
        self.total = 0

    def append(self, item: T) -> None:
        self.total += 1
        if len(self) < self.limit:
            super().append(item)


def count(items: list[T]) -> int:
    """How many ``items`` there were, including any a ``Notices`` list counted without keeping."""
    return items.total if isinstance(items, Notices) else len(items)
