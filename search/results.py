"""The search-side data model, shared by the library, the CLI's JSON and the HTTP schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from index.settings import DEFAULT_K, MAX_K, MAX_QUERY_CHARS


class Hit(BaseModel):
    """One article in the results, with the passage that matched best."""

    model_config = ConfigDict(frozen=True)

    rank: int = Field(description="1-based position in the results")
    score: float = Field(description="cosine similarity of the best passage to the query")
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


class QueryResult(BaseModel):
    """The answer to one query: the top articles, best first."""

    model_config = ConfigDict(frozen=True)

    query: str
    k: int
    results: list[Hit]
    took_ms: float
    index_version: str
    note: str | None = Field(default=None, description="why the results are empty, when a filter matched nothing")


class QueryRequest(BaseModel):
    """Body of ``POST /query``."""

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="the query text, any language")
    k: int = Field(default=DEFAULT_K, ge=1, le=MAX_K, description="how many articles to return")
    lang: str | None = Field(default=None, description="comma-separated ISO 639-1 codes, e.g. ar,fa")
    since: str | None = Field(default=None, description="earliest article date, YYYY-MM-DD")
    until: str | None = Field(default=None, description="latest article date, YYYY-MM-DD")
    source: str | None = Field(default=None, description="outlet name, or a path prefix of the source files")


class IndexInfo(BaseModel):
    """What an index holds and how it was built (its manifest)."""

    model_config = ConfigDict(frozen=True)

    index_dir: str
    version: str
    manifest: dict[str, Any]


class ErrorBody(BaseModel):
    """The JSON body of every error response."""

    error: dict[str, str]
