"""The search-side data model, shared by the library, the CLI's JSON and the HTTP schema.

Every response model defers building its validator and serialiser to its first use (``defer_build``): a CLI
query uses four of them, and building the rest at import cost it ~20 ms. The request models (query parameters
and bodies) do not: FastAPI wraps them in its own ``Query``/``Body`` fields, and a deferred build there warns
(pydantic's UnsupportedFieldAttributeWarning) on the first request, even after ``model_rebuild``."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from index import Filter, normalise
from index.errors import InvalidQueryError
from index.settings import DEFAULT_GROUP, DEFAULT_K, DEFAULT_MODE, MAX_DEPTH, MAX_K, MAX_QUERY_CHARS

Mode = Literal["dense", "lexical", "hybrid"]
Grouping = Literal["stories", "articles"]
MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")
GROUPINGS: tuple[Grouping, ...] = ("stories", "articles")


class Span(BaseModel):
    """Character offsets ``[start, end)`` into the article's text."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    start: int
    end: int


class Snippet(BaseModel):
    """The sentence(s) of the shown passage that answer the query best, and the query's words in them."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    text: str
    start: int = Field(description="character offset of the snippet in the article text")
    end: int
    highlights: list[Span] = Field(description="query words found in the snippet, as article-text offsets")


class Version(BaseModel):
    """Another article telling the same story (a translation or a close retelling)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    article_id: str
    title: str
    lang: str | None
    source: str | None
    url: str | None
    date: str | None
    score: float | None = Field(description="its own score for this query, when it was among the candidates")


class Hit(BaseModel):
    """One article (or story) in the results, with the passage that matched best."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    rank: int = Field(description="1-based position in the results")
    score: float = Field(
        description="the ranking score of the mode: cosine (dense), BM25 (lexical) or reciprocal-rank fusion (hybrid)"
    )
    confidence: float = Field(
        description="probability that the article is relevant to the query (0-1), calibrated on judged queries"
    )
    dense_score: float | None = Field(description="cosine similarity of the best passage, if it was a dense candidate")
    lexical_score: float | None = Field(description="BM25 score of the best passage, if it matched the query's words")
    article_id: str
    title: str
    lang: str | None
    source: str | None = Field(description="outlet when known, else the file the article came from")
    url: str | None
    date: str | None
    passage: str = Field(description="text of the best-matching passage")
    passage_id: int
    passage_start: int = Field(description="character offset of the passage in the article text")
    passage_end: int
    snippet: Snippet | None = Field(description="best sentence(s) of the passage; None when snippets are off")
    story: int | None = Field(description="story number shared by this article's other versions, if any")
    versions: list[Version] = Field(description="the story's other versions (grouped by stories), best first")
    republished: list[Version] = Field(
        # a lambda, not ``list``: pydantic reads a builtin's signature from its text, compiling tokenize's regular
        # expressions (~10 ms of a cold query)
        default_factory=lambda: [],
        description="copies of this article's text from other sources, kept out of the index",
    )


class PassageView(BaseModel):
    """A passage of an article as indexed: its span of the article text."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    id: int
    seq: int
    start: int
    end: int
    text: str
    lang: str | None = Field(description="set only where it differs from the article's")


class ArticleView(BaseModel):
    """One stored article: its metadata, text, passages, other language versions and republished copies."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    article_id: str
    title: str
    text: str
    lang: str | None
    source: str | None
    url: str | None
    date: str | None
    author: str | None
    path: str
    passages: list[PassageView]
    story: int | None
    versions: list[Version]
    republished: list[Version]
    copy_of: str | None = Field(
        default=None,
        description="set when the id asked for is a copy kept out of the index: the id of the article it copies, "
        "whose text, passages, versions and copies are shown",
    )


class QueryResult(BaseModel):
    """The answer to one query: the top articles, best first."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    query: str
    k: int
    offset: int = 0
    mode: Mode
    group: Grouping
    results: list[Hit]
    took_ms: float
    index_version: str
    note: str | None = Field(
        default=None,
        description='why the results are empty when a filter matched nothing, or "No good match" when no result is '
        "likely to be relevant (every confidence under the threshold)",
    )


class QueryOptions(BaseModel):
    """How to answer a query: how many results, from where, by which mode, among which articles. The one place
    the bounds are written: the library, the CLI and both HTTP routes validate through this model (strict JSON
    types: 0 is not false, "10" is not 10). The filters stay text here; the engine parses them once, against the
    index's languages (``filter``)."""

    model_config = ConfigDict(strict=True, extra="forbid")  # a misspelt field is refused, not ignored

    k: int = Field(default=DEFAULT_K, ge=1, le=MAX_K, description="how many articles (or stories) to return")
    offset: int = Field(default=0, ge=0, le=MAX_DEPTH - 1, description="results to skip first (paging)")
    mode: Mode = Field(default=DEFAULT_MODE, description="dense, lexical or hybrid (both, fused by reciprocal rank)")
    group: Grouping = Field(default=DEFAULT_GROUP, description="stories: one result per story; articles: no grouping")
    snippets: bool = Field(default=True, description="pick and highlight the best sentence(s) of each hit")
    lang: str | None = Field(default=None, description="comma-separated ISO 639-1 codes, e.g. ar,fa")
    since: str | None = Field(default=None, description="earliest article date, YYYY-MM-DD")
    until: str | None = Field(default=None, description="latest article date, YYYY-MM-DD")
    source: str | None = Field(default=None, description="outlet name, or a path prefix of the source files")

    @model_validator(mode="after")
    def _within_depth(self) -> Self:
        if self.offset + self.k > MAX_DEPTH:  # raised as is (not a ValueError): every edge answers it the same
            raise InvalidQueryError(
                f"offset must be a whole number from 0 to {MAX_DEPTH - self.k} (offset + k ≤ {MAX_DEPTH})."
            )
        return self

    @classmethod
    def of(cls, **fields: Any) -> Self:
        """The model, or an InvalidQueryError saying which value is out of bounds (the library's and CLI's way in)."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise InvalidQueryError(_explain(exc.errors()[0], fields)) from None

    def filter(self, index_languages: Iterable[str] = ()) -> Filter:
        """The filters as the stores take them, validated (codes against ISO 639-1 and the index's own)."""
        from search.filters import parse_filters

        return parse_filters(self.lang, self.since, self.until, self.source, index_languages=index_languages, prefix="")


class QueryRequest(QueryOptions):
    """One query and how to answer it: the body of ``POST /query``, and what ``GET /query`` and the CLI build."""

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="the query text, any language")

    @field_validator("q")
    @classmethod
    def _visible(cls, q: str) -> str:
        return validate_query(q)


class QueryParams(QueryRequest):
    """``GET /query``'s parameters: the same fields and bounds, as text (a query string has no types) and
    parameters the route does not know ignored, as any GET route does."""

    model_config = ConfigDict(strict=False, extra="ignore")


def validate_query(query: str) -> str:
    """The query normalised as article text is (control characters as spaces), or an error saying what is wrong.

    The one check every edge uses: a query of nothing but spaces and invisible characters (NUL, zero-width
    space, BOM, soft hyphen, bidi controls) is empty, and would otherwise match arbitrary articles.
    """
    if not isinstance(query, str) or not query.strip():
        raise InvalidQueryError("The query is empty; type some words to search for.")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQueryError(f"The query has {len(query)} characters; shorten it to at most {MAX_QUERY_CHARS}.")
    query = normalise("".join(" " if unicodedata.category(c) == "Cc" else c for c in query)).strip()
    if not any(unicodedata.category(c)[0] not in "CZ" for c in query):  # no letter, digit, mark or symbol
        raise InvalidQueryError("The query has no visible characters; type some words to search for.")
    return query


def _explain(error: Mapping[str, Any], fields: Mapping[str, Any]) -> str:
    """A failed bound in the words the CLI and the library have always used."""
    field = str(error["loc"][0]) if error["loc"] else ""
    value = error.get("input")
    if field == "k":
        return f"k must be a whole number from 1 to {MAX_K}, got {value!r}."
    if field == "offset":
        k = fields.get("k", DEFAULT_K)
        most = MAX_DEPTH - k if isinstance(k, int) and 1 <= k <= MAX_K else MAX_DEPTH - 1
        return f"offset must be a whole number from 0 to {most} (offset + k ≤ {MAX_DEPTH})."
    if field == "mode":
        return f"Unknown mode {value!r}; use one of {', '.join(MODES)}."
    if field == "group":
        return f"Unknown grouping {value!r}; use one of {', '.join(GROUPINGS)}."
    if field == "q":
        validate_query(
            value if isinstance(value, str) else ""
        )  # raises the message for an empty, invisible or too long query
    if error["type"] == "extra_forbidden":
        return f"Unknown query option {field!r}."
    return f"{field}: {error['msg']}."


class ArticleIn(BaseModel):
    """One article sent to ``POST /articles``."""

    model_config = ConfigDict(strict=True)

    id: str = Field(min_length=1, max_length=500)
    text: str = Field(min_length=1)
    title: str = ""
    url: str | None = None
    date: str | None = Field(default=None, description="any common date format; stored as ISO 8601")
    lang: str | None = Field(default=None, description="ISO 639-1; detected when left out")
    source: str | None = None
    author: str | None = None


class ArticlesIn(BaseModel):
    """Body of ``POST /articles``: articles to add or replace (by id)."""

    model_config = ConfigDict(strict=True)

    articles: list[ArticleIn] = Field(min_length=1, max_length=1_000)


class WriteResult(BaseModel):
    """What a write did, and the index version that now answers."""

    model_config = ConfigDict(defer_build=True)

    index_version: str
    upserted: list[str] = Field(default_factory=list, description="ids now indexed as sent")
    republished: list[dict[str, str]] = Field(
        default_factory=list,
        description="ids sent that copy another article's text: kept out of the index, each with `copy_of`, the id "
        "of the article it copies (GET /articles/{id} of a copy shows that article)",
    )
    deleted: list[str] = Field(default_factory=list)
    skipped: list[dict[str, str]] = Field(default_factory=list, description="articles refused, with why")
    repaired: list[dict[str, str]] = Field(default_factory=list)
    vectors_encoded: int


class IndexInfo(BaseModel):
    """What an index holds and how it was built (its manifest)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    index_dir: str
    version: str
    manifest: dict[str, Any]


class ServerStats(BaseModel):
    """What a running server holds and how fast it has been answering."""

    model_config = ConfigDict(defer_build=True)

    index_version: str
    articles: int
    passages: int
    languages: dict[str, int]
    model: str
    vector_store: str = Field(
        default="faiss", description="where dense search runs: faiss (the index's own file) or milvus"
    )
    index_spec: str = Field(description="the vector index searched (in Milvus: its spec and Milvus index type)")
    recall: dict[str, Any]
    uptime_s: float
    queries: int = Field(description="queries answered since start")
    query_ms: dict[str, float] = Field(description="p50/p90/p99 of the last 2,000 /query requests, in ms")
    reloads: int = Field(default=0, description="new index versions picked up since start")


class ErrorBody(BaseModel):
    """The JSON body of every error response."""

    model_config = ConfigDict(defer_build=True)

    error: dict[str, str]
