"""Articles and passages in SQLite, beside the vectors; passage ids are the vector ids."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models import Article, Filter, Passage, Republished
from ..sqlite import read_only_uri

_SCHEMA = """
CREATE TABLE articles (
    num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, text TEXT NOT NULL, lang TEXT, source TEXT,
    url TEXT, date TEXT, path TEXT NOT NULL, content_hash TEXT NOT NULL, author TEXT, headline_id INTEGER,
    story INTEGER
);
CREATE TABLE republished (
    article_id TEXT NOT NULL REFERENCES articles(id), id TEXT NOT NULL, title TEXT NOT NULL, source TEXT, url TEXT,
    date TEXT, path TEXT NOT NULL
);
CREATE INDEX republished_article ON republished(article_id);
CREATE INDEX articles_story ON articles(story);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id), seq INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, n_tokens INTEGER NOT NULL,
    embed_hash TEXT NOT NULL, lang TEXT, sentences TEXT NOT NULL
);
CREATE INDEX passages_article ON passages(article_id, seq);
"""
_ARTICLE_COLUMNS = "id, title, text, lang, source, url, date, path, content_hash, author"
_PASSAGE_COLUMNS = 'id, article_id, seq, start, "end", text, n_tokens, embed_hash, lang, sentences'


@dataclass(frozen=True)
class PassageWithArticle:
    """A passage joined with its article, as search needs it."""

    passage: Passage
    article: Article


@dataclass(frozen=True)
class StoreRecords:
    """What a version's store holds, as a build made it: ``numbers`` and ``headline_ids`` keyed by article id,
    ``stories`` (story number of articles with other versions) by article number."""

    articles: Sequence[Article]
    passages: Sequence[Passage]
    numbers: dict[str, int]
    headline_ids: dict[str, int]
    stories: dict[int, int]
    republished: Sequence[Republished]

    def write(self, path: Path) -> None:
        """Write them as a new store file (``create_store``)."""
        create_store(path, self.articles, self.passages, self.numbers, self.headline_ids, self.stories,
                     self.republished)  # fmt: skip


def create_store(
    path: Path,
    articles: Iterable[Article],
    passages: Iterable[Passage],
    numbers: dict[str, int],
    headline_ids: dict[str, int],
    stories: dict[int, int] | None = None,
    republished: Iterable[Republished] = (),
) -> None:
    """Write a new store file in one transaction; ``numbers`` and ``headline_ids`` are keyed by article id,
    ``stories`` (story number of articles with other versions) by article number."""
    stories = stories or {}
    try:
        _write_store(path, articles, passages, numbers, headline_ids, stories, republished)
    except sqlite3.OperationalError as exc:  # SQLite names a full or read-only disk in words: give it its errno
        for code, words in (
            (errno.ENOSPC, "disk is full"),
            (errno.EROFS, "readonly"),
            (errno.EACCES, "unable to open"),
        ):
            if words in str(exc):
                raise OSError(code, os.strerror(code), str(path)) from exc
        raise


def _write_store(
    path: Path,
    articles: Iterable[Article],
    passages: Iterable[Passage],
    numbers: dict[str, int],
    headline_ids: dict[str, int],
    stories: dict[int, int],
    republished: Iterable[Republished],
) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(_SCHEMA)
        with con:
            con.executemany(
                f"INSERT INTO articles (num, {_ARTICLE_COLUMNS}, headline_id, story) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (numbers[a.id], a.id, a.title, a.text, a.lang, a.source, a.url, a.date, a.path, a.content_hash,
                     a.author, headline_ids.get(a.id), stories.get(numbers[a.id]))
                    for a in articles
                ),
            )  # fmt: skip
            con.executemany(
                "INSERT INTO republished (article_id, id, title, source, url, date, path) VALUES (?,?,?,?,?,?,?)",
                ((r.article_id, r.id, r.title, r.source, r.url, r.date, r.path) for r in republished),
            )
            con.executemany(
                f"INSERT INTO passages ({_PASSAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    (p.id, p.article_id, p.seq, p.start, p.end, p.text, p.n_tokens, p.embed_hash, p.lang,
                     json.dumps([[start, end] for start, end in p.sentences], separators=(",", ":")))
                    for p in passages
                ),
            )  # fmt: skip
    finally:
        con.close()


def _passage(row: Sequence[Any]) -> Passage:
    """A passage from its row, in ``_PASSAGE_COLUMNS`` order."""
    pid, article_id, seq, start, end, text, n_tokens, embed_hash, lang, sentences = row
    spans = tuple((int(s), int(e)) for s, e in json.loads(sentences))
    return Passage(pid, article_id, seq, start, end, text, n_tokens, embed_hash, lang, spans)


class Store:
    """Read-only access to a store file; one SQLite connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(read_only_uri(self.path), uri=True)
            self._local.con = con
        return con

    def passages(self, ids: Sequence[int]) -> dict[int, PassageWithArticle]:
        """The passages with these ids and their articles, keyed by passage id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = (
            self._con()
            .execute(
                f'SELECT p.id, p.article_id, p.seq, p.start, p."end", p.text, p.n_tokens, p.embed_hash, p.lang, '
                f"p.sentences, a.id, a.title, a.text, a.lang, a.source, a.url, a.date, a.path, a.content_hash, a.author "
                f"FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.id IN ({marks})",
                [int(i) for i in ids],
            )
            .fetchall()
        )
        return {row[0]: PassageWithArticle(_passage(row[:10]), Article(*row[10:])) for row in rows}

    def article_keys(self) -> dict[str, tuple[int, str, int | None]]:
        """article id -> (number, headline hash source title, headline id), for reuse by the next build."""
        rows = self._con().execute("SELECT id, num, title, headline_id FROM articles").fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def passage_keys(self) -> list[tuple[int, str, str]]:
        """(passage id, article id, embed hash) of every passage, for reuse by the next build."""
        return self._con().execute("SELECT id, article_id, embed_hash FROM passages").fetchall()

    def article_numbers(self, article_ids: Sequence[str]) -> dict[str, int]:
        """article id -> article number, for the ids that exist."""
        found: dict[str, int] = {}
        ids = list(dict.fromkeys(article_ids))
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            part = ids[start : start + 900]
            marks = ",".join("?" * len(part))
            found.update(self._con().execute(f"SELECT id, num FROM articles WHERE id IN ({marks})", part).fetchall())
        return found

    def first_passages(self, numbers: Sequence[int]) -> dict[int, int]:
        """The id of the first passage of each numbered article, keyed by article number."""
        if not numbers:
            return {}
        marks = ",".join("?" * len(numbers))
        rows = self._con().execute(
            f"SELECT a.num, MIN(p.id) FROM articles a JOIN passages p ON p.article_id = a.id "
            f"WHERE a.num IN ({marks}) GROUP BY a.num",
            [int(n) for n in numbers],
        )
        return dict(rows.fetchall())

    def article_numbers_where(self, chosen: Filter) -> list[int]:
        """Numbers of the articles matching a filter. Dates compare as ISO strings; an article without a
        date never matches a date filter. ``source`` matches the outlet exactly or a path prefix."""
        where, args = [], []
        if chosen.langs:
            where.append(f"lang IN ({','.join('?' * len(chosen.langs))})")
            args += list(chosen.langs)
        if chosen.since:
            where.append("date IS NOT NULL AND substr(date, 1, 10) >= ?")
            args.append(chosen.since.isoformat())
        if chosen.until:
            where.append("date IS NOT NULL AND substr(date, 1, 10) <= ?")
            args.append(chosen.until.isoformat())
        if chosen.source:
            where.append("(source = ? OR path LIKE ? ESCAPE '\\')")
            escaped = chosen.source.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args += [chosen.source, escaped + "%"]
        if chosen.article_ids is not None:  # a JSON array: any number of ids in one bound parameter
            where.append("id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(chosen.article_ids)))
        sql = "SELECT num FROM articles" + (" WHERE " + " AND ".join(where) if where else "")
        return [row[0] for row in self._con().execute(sql, args)]

    def stories(self, numbers: Sequence[int]) -> dict[int, int]:
        """Story number of each given article that has other versions, keyed by article number."""
        found: dict[int, int] = {}
        for start in range(0, len(numbers), 900):
            part = [int(n) for n in numbers[start : start + 900]]
            marks = ",".join("?" * len(part))
            sql = f"SELECT num, story FROM articles WHERE num IN ({marks}) AND story IS NOT NULL"
            found.update(self._con().execute(sql, part).fetchall())
        return found

    def story_versions(self, stories: Sequence[int]) -> dict[int, list[tuple[int, Article]]]:
        """Every (article number, article) of the given stories, keyed by story number."""
        found: dict[int, list[tuple[int, Article]]] = {}
        if not stories:
            return found
        marks = ",".join("?" * len(stories))
        sql = f"SELECT story, num, {_ARTICLE_COLUMNS} FROM articles WHERE story IN ({marks}) ORDER BY story, lang, num"
        for row in self._con().execute(sql, [int(s) for s in stories]):
            found.setdefault(row[0], []).append((row[1], Article(*row[2:])))
        return found

    def republished(self, article_ids: Sequence[str]) -> dict[str, list[Republished]]:
        """The other copies of each given article that were kept out of the index, keyed by article id."""
        found: dict[str, list[Republished]] = {}
        ids = list(dict.fromkeys(article_ids))
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            marks = ",".join("?" * len(part))
            sql = (
                f"SELECT article_id, id, title, source, url, date, path FROM republished WHERE article_id IN ({marks})"
            )
            for row in self._con().execute(sql + " ORDER BY article_id, date, id", part):
                found.setdefault(row[0], []).append(Republished(*row))
        return found

    def all_articles(self) -> list[Article]:
        """Every article, in article-number order."""
        return [Article(*row) for row in self._con().execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles ORDER BY num")]

    def copy(self, copy_id: str) -> Republished | None:
        """The copy kept out of the index under ``copy_id`` (naming the article it copies), if any."""
        sql = "SELECT article_id, id, title, source, url, date, path FROM republished WHERE id = ? LIMIT 1"
        row = self._con().execute(sql, (copy_id,)).fetchone()
        return None if row is None else Republished(*row)

    def all_republished(self) -> list[Republished]:
        """Every copy kept out of the index."""
        sql = "SELECT article_id, id, title, source, url, date, path FROM republished"
        return [Republished(*row) for row in self._con().execute(sql)]

    def passages_by_content(self) -> dict[str, tuple[str, list[Passage]]]:
        """Every article's content hash and passages (in order), by article id: what a rebuild may keep."""
        hashes = dict(self._con().execute("SELECT id, content_hash FROM articles"))
        out: dict[str, tuple[str, list[Passage]]] = {aid: (h, []) for aid, h in hashes.items()}
        for row in self._con().execute(f"SELECT {_PASSAGE_COLUMNS} FROM passages ORDER BY article_id, seq"):
            passage = _passage(row)
            if passage.article_id in out:
                out[passage.article_id][1].append(passage)
        return out

    def passages_of(self, article_id: str) -> list[Passage]:
        """The passages of one article, in order."""
        sql = f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE article_id = ? ORDER BY seq"
        return [_passage(row) for row in self._con().execute(sql, (article_id,))]

    def article(self, article_id: str) -> Article | None:
        """One article by id."""
        row = self._con().execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None else Article(*row)

    def languages(self) -> dict[str, int]:
        """Article count per language."""
        rows = self._con().execute("SELECT COALESCE(lang, '?'), COUNT(*) FROM articles GROUP BY 1 ORDER BY 2 DESC")
        return dict(rows.fetchall())

    def check(self) -> None:
        """Raise sqlite3.DatabaseError when the file is not a whole store (reads its header and schema only)."""
        try:
            with self.path.open("rb") as fh:
                header = fh.read(100)
            size = self.path.stat().st_size
        except OSError as exc:
            raise sqlite3.DatabaseError(str(exc)) from exc
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            raise sqlite3.DatabaseError("not an SQLite file")
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        if header[24:28] == header[92:96] and page_size * pages != size:  # the page count is valid: compare
            raise sqlite3.DatabaseError(f"{size} bytes where its header promises {pages} pages of {page_size}")
        tables = {row[0] for row in self._con().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"articles", "passages", "republished"} <= tables:
            raise sqlite3.DatabaseError(f"tables {sorted(tables)}, not a semsearch store")

    def quick_check(self) -> None:
        """Raise sqlite3.DatabaseError unless SQLite's ``quick_check`` finds every page sound (reads the file)."""
        problems = [row[0] for row in self._con().execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(problems))
