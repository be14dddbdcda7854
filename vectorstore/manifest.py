"""The article manifest: article text, sentence offsets, chunk spans and vectors, origins and a
write journal.

SQLite in the store's home folder. It stays with citeqa even when vectors live on a Chroma
server, because citations are resolved against it: a cited sentence is always
`articles.text[start:end]` of a row here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.dates import iso
from vectorstore.near_duplicates import Fingerprint, closest
from vectorstore.notes import MARKER, wrong_claim
from vectorstore.types import Article, Chunk, Sentence, SentenceRow, StoredArticle

KEYS_PER_QUERY = 400  # (article_id, number) pairs a statement binds: 800 of its parameters

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
  id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, published TEXT,
  published_ts REAL, source TEXT NOT NULL, url TEXT NOT NULL, author TEXT NOT NULL,
  origin TEXT NOT NULL, sentences INTEGER NOT NULL, chunks INTEGER NOT NULL,
  added_at TEXT NOT NULL DEFAULT (datetime('now')));
CREATE TABLE IF NOT EXISTS origins (origin TEXT PRIMARY KEY, article_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS origins_by_article ON origins(article_id);
CREATE TABLE IF NOT EXISTS sentences (
  article_id TEXT NOT NULL, idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
  paragraph INTEGER NOT NULL, chunk INTEGER NOT NULL, PRIMARY KEY (article_id, idx));
CREATE TABLE IF NOT EXISTS chunks (
  article_id TEXT NOT NULL, number INTEGER NOT NULL, first INTEGER NOT NULL,
  last INTEGER NOT NULL, vector BLOB, PRIMARY KEY (article_id, number));
CREATE TABLE IF NOT EXISTS pending (article_id TEXT PRIMARY KEY, action TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprints (
  article_id TEXT PRIMARY KEY, signature BLOB NOT NULL, story TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS fingerprints_by_story ON fingerprints(story);
CREATE TABLE IF NOT EXISTS bands (key TEXT NOT NULL, article_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS bands_by_key ON bands(key);
CREATE INDEX IF NOT EXISTS bands_by_article ON bands(article_id);
CREATE INDEX IF NOT EXISTS articles_by_url ON articles(url);
CREATE TABLE IF NOT EXISTS notes (
  article_id TEXT NOT NULL, idx INTEGER NOT NULL, claim TEXT NOT NULL,
  PRIMARY KEY (article_id, idx));
"""


class Manifest:
    """Thin, typed access to the manifest database."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(chunks)")}
        if "vector" not in columns:  # a manifest from before chunk vectors moved here
            self._db.execute("ALTER TABLE chunks ADD COLUMN vector BLOB")

    @property
    def _db(self) -> sqlite3.Connection:
        """One connection per thread: WAL lets readers go on while one thread writes."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
            with self._all_lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._all_lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self._db.execute("DELETE FROM meta WHERE key=?", (key,))

    def generation(self) -> int:
        """Bumped by every commit that adds or removes articles: read-only processes compare
        it to know when to reload (ArticleStore.refresh)."""
        found = self.get_meta("generation")
        return int(found) if found else 0

    def _bump(self) -> None:
        """Inside a write transaction: one more generation."""
        self._db.execute(
            "INSERT INTO meta VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE"
            " SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
        )

    # -- journal ---------------------------------------------------------------------------
    def begin(self, article_ids: Iterable[str], action: str) -> None:
        """Record intent before touching Chroma or BM25, so a crash can be rolled back."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO pending VALUES (?, ?)", [(a, action) for a in article_ids]
            )

    def pending(self) -> list[tuple[str, str]]:
        return self._db.execute("SELECT article_id, action FROM pending").fetchall()

    # -- articles --------------------------------------------------------------------------
    def commit_articles(
        self,
        items: Sequence[
            tuple[Article, Sequence[Sentence], Sequence[Chunk], dict[int, int], np.ndarray]
        ],
        fingerprints: Mapping[str, Fingerprint] | None = None,
        retire: Mapping[str, str] | None = None,
    ) -> None:
        """Store articles with their sentences, chunks and chunk vectors (float32, one row per
        chunk) and clear their journal entries.

        `fingerprints` file each article under its story (its near copies share one);
        `retire` maps a new article to the earlier version it replaces, whose origins are
        dropped in the same transaction (so a crash leaves one version, never none).
        """
        fingerprints = fingerprints or {}
        retire = retire or {}
        with self._db:
            self._db.execute("BEGIN")
            for article, sentences, chunks, chunk_of, vectors in items:
                if article.id in retire:
                    self._db.execute(
                        "DELETE FROM origins WHERE article_id=?", (retire[article.id],)
                    )
                if article.id in fingerprints:
                    self._file_story(article.id, fingerprints[article.id])
                self._db.execute(
                    "INSERT OR REPLACE INTO articles (id, title, text, published, published_ts,"
                    " source, url, author, origin, sentences, chunks)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        article.id,
                        article.title,
                        article.text,
                        iso(article.published),
                        article.published.timestamp() if article.published else None,
                        article.source,
                        article.url,
                        article.author,
                        article.origin,
                        len(sentences),
                        len(chunks),
                    ),
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO sentences VALUES (?,?,?,?,?,?)",
                    [
                        (article.id, s.index, s.start, s.end, s.paragraph, chunk_of[s.index])
                        for s in sentences
                    ],
                )
                self._db.execute("DELETE FROM notes WHERE article_id=?", (article.id,))
                self._db.executemany(
                    "INSERT INTO notes VALUES (?,?,?)",
                    [(article.id, s.index, claim) for s in sentences if (claim := _claim(s.text))],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?)",
                    [
                        (article.id, c.number, c.first_sentence, c.last_sentence, _blob(vector))
                        for c, vector in zip(chunks, vectors, strict=True)
                    ],
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO origins VALUES (?, ?)", (article.origin, article.id)
                )
                self._db.execute("DELETE FROM pending WHERE article_id=?", (article.id,))
            self._bump()

    def _file_story(self, article_id: str, print_: Fingerprint) -> None:
        """Record the article's fingerprint under the story of its closest stored copy
        (or a story of its own). Runs inside commit_articles' transaction."""
        keys = list(print_.bands)
        marks = ",".join("?" * len(keys))
        candidates = self._db.execute(
            "SELECT f.article_id, f.signature, f.story FROM fingerprints f"
            f" WHERE f.article_id IN (SELECT DISTINCT article_id FROM bands WHERE key IN ({marks}))"
            " AND f.article_id != ?",
            (*keys, article_id),
        ).fetchall()
        story_of = {row[0]: row[2] for row in candidates}
        best = closest(print_, ((row[0], row[1]) for row in candidates))
        story = story_of[best[0]] if best else article_id
        self._db.execute("DELETE FROM bands WHERE article_id=?", (article_id,))
        self._db.execute(
            "INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)",
            (article_id, print_.to_bytes(), story),
        )
        self._db.executemany("INSERT INTO bands VALUES (?, ?)", [(key, article_id) for key in keys])

    def stories(self, article_ids: Iterable[str]) -> dict[str, list[str]]:
        """article id → the ids of all stored articles of its story (itself included),
        oldest publication first; articles with no near copy map to [itself]."""
        ids = list(set(article_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        story_of = dict(
            self._db.execute(
                f"SELECT article_id, story FROM fingerprints WHERE article_id IN ({marks})", ids
            )
        )
        stories = sorted(set(story_of.values()))
        members: dict[str, list[str]] = {}
        if stories:
            marks = ",".join("?" * len(stories))
            for story, member in self._db.execute(
                "SELECT f.story, f.article_id FROM fingerprints f JOIN articles a"
                f" ON a.id = f.article_id WHERE f.story IN ({marks})"
                " ORDER BY a.published_ts IS NULL, a.published_ts, a.id",
                stories,
            ):
                members.setdefault(story, []).append(member)
        return {a: members.get(story_of.get(a, ""), [a]) for a in ids}

    def article_for_url(self, source: str, url: str) -> str | None:
        """The stored article with this source and URL (a later ingest of it is a new version)."""
        row = self._db.execute(
            "SELECT id FROM articles WHERE url=? AND source=? ORDER BY published_ts DESC LIMIT 1",
            (url, source),
        ).fetchone()
        return row[0] if row else None

    def set_origin(self, origin: str, article_id: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO origins VALUES (?, ?)", (origin, article_id))

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        ids = [(a,) for a in article_ids]
        with self._db:
            self._db.execute("BEGIN")
            for table, column in (
                ("articles", "id"),
                ("sentences", "article_id"),
                ("chunks", "article_id"),
                ("origins", "article_id"),
                ("pending", "article_id"),
                ("fingerprints", "article_id"),
                ("bands", "article_id"),
                ("notes", "article_id"),
            ):
                self._db.executemany(f"DELETE FROM {table} WHERE {column}=?", ids)
            self._bump()

    # -- correction notes ------------------------------------------------------------------
    def notes(self) -> list[tuple[str, int, str]]:
        """(article id, sentence index, wrong claim) of every stored correction note. A store
        written before the notes table, not yet opened by a writer, is scanned instead."""
        if self.get_meta("notes") == "1":
            return self._db.execute("SELECT article_id, idx, claim FROM notes").fetchall()
        return self._scan_notes()

    def fill_notes(self) -> int:
        """In a writer, once: the notes of articles stored before the table existed (a scan of
        the texts holding the notes' wording; ~1 s a million sentences). Returns how many."""
        if self.get_meta("notes") == "1":
            return 0
        found = self._scan_notes()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO notes VALUES (?,?,?)", found)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('notes', '1')")
        return len(found)

    def index_dates(self) -> None:
        """In a writer, once: an index on publication time (with the id, so a date filter
        reads nothing else). Without it a filter reads every article row, text included: the
        text precedes the column in the row (3.2 s cold, ~180 ms warm at 100 k articles; 0.2 s
        to build). Not in SCHEMA: readers run that, and building an index is a write."""
        self._db.execute(
            "CREATE INDEX IF NOT EXISTS articles_by_published ON articles(published_ts, id)"
        )

    def _scan_notes(self) -> list[tuple[str, int, str]]:
        found = []
        texts = self._db.execute(
            "SELECT id, text FROM articles WHERE instr(lower(text), ?) > 0", (MARKER,)
        ).fetchall()
        for article_id, text in texts:
            for idx, start, end in self._db.execute(
                "SELECT idx, start, end FROM sentences WHERE article_id=?", (article_id,)
            ).fetchall():
                claim = _claim(text[start:end])
                if claim:
                    found.append((article_id, idx, claim))
        return found

    def article_for_origin(self, origin: str) -> str | None:
        row = self._db.execute(
            "SELECT article_id FROM origins WHERE origin=?", (origin,)
        ).fetchone()
        return row[0] if row else None

    def origins_of(self, article_id: str) -> list[str]:
        return [
            r[0]
            for r in self._db.execute(
                "SELECT origin FROM origins WHERE article_id=?", (article_id,)
            )
        ]

    def orphans(self) -> list[str]:
        """Articles that no origin names (see ArticleStore.recover)."""
        return [
            r[0]
            for r in self._db.execute(
                "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM origins)"
            )
        ]

    def has(self, article_id: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM articles WHERE id=?", (article_id,)).fetchone()
            is not None
        )

    def ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM articles ORDER BY id")]

    def list_articles(self, limit: int | None = None, matching: str = "") -> list[StoredArticle]:
        """Newest first. `matching`: only those whose title, source or id contains it (any
        case); `limit`: at most that many (the chat lists a page, not 100,000 rows)."""
        where, args = "", list[object]()
        if matching:
            escaped = matching.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args = [f"%{escaped}%"] * 3
            where = "WHERE " + " OR ".join(
                f"{column} LIKE ? ESCAPE '\\'" for column in ("title", "source", "articles.id")
            )
        order = " ORDER BY published IS NULL, published DESC, title"
        if limit is not None:
            order += " LIMIT ?"
            args.append(max(0, int(limit)))
        return self._rows(where + order, args)

    def article_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def sources(self) -> list[str]:
        """The distinct non-empty sources, sorted (the chat's source filter)."""
        rows = self._db.execute(
            "SELECT DISTINCT source FROM articles WHERE source IS NOT NULL AND source != ''"
            " ORDER BY source"
        )
        return [r[0] for r in rows]

    def text(self, article_id: str) -> str | None:
        row = self._db.execute("SELECT text FROM articles WHERE id=?", (article_id,)).fetchone()
        return row[0] if row else None

    def texts(self, article_ids: Iterable[str]) -> dict[str, str]:
        ids = list(set(article_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self._db.execute(f"SELECT id, text FROM articles WHERE id IN ({marks})", ids))

    def article(self, article_id: str) -> StoredArticle | None:
        return next((a for a in self._rows("WHERE id=?", (article_id,))), None)

    def articles(self, article_ids: Iterable[str]) -> dict[str, StoredArticle]:
        ids = list(set(article_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {a.id: a for a in self._rows(f"WHERE id IN ({marks})", ids)}

    def _rows(self, where: str, args: Sequence[object]) -> list[StoredArticle]:
        rows = self._db.execute(
            "SELECT id, title, published, source, url, author, origin, sentences, chunks,"
            " length(text), coalesce(story, id) FROM articles"
            f" LEFT JOIN fingerprints ON fingerprints.article_id = articles.id {where}",
            tuple(args),
        )
        return [
            StoredArticle(r[0], r[1], _date(r[2]), r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])
            for r in rows
        ]

    def sentence_rows(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], SentenceRow]:
        """(article_id, idx) -> where the sentence sits; one query per article."""
        return {
            (article_id, idx): SentenceRow(start, end, paragraph, chunk)
            for article_id, (idx, start, end, paragraph, chunk) in self._by_number(
                "sentences", "idx", "start, end, paragraph, chunk", keys
            )
        }

    def chunk_sentences(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], range]:
        """(article_id, chunk number) -> the chunk's sentence indexes; one query per article."""
        return {
            (article_id, number): range(first, last + 1)
            for article_id, (number, first, last) in self._by_number(
                "chunks", "number", "first, last", keys
            )
        }

    def chunk_vectors(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], np.ndarray]:
        """(article_id, chunk number) -> the chunk's vector (float32); chunks without one (an
        older store not yet opened by a writer) are left out."""
        return {
            (article_id, number): np.frombuffer(blob, dtype=np.float32)
            for article_id, (number, blob) in self._by_number("chunks", "number", "vector", keys)
            if blob is not None
        }

    def set_chunk_vectors(self, rows: Iterable[tuple[str, int, np.ndarray]]) -> int:
        """Fill the vectors of stored chunks (article_id, number, vector); returns how many."""
        with self._db:
            self._db.execute("BEGIN")
            done = self._db.executemany(
                "UPDATE chunks SET vector=? WHERE article_id=? AND number=?",
                [(_blob(vector), article_id, number) for article_id, number, vector in rows],
            ).rowcount
        return int(done)

    def chunks_without_vectors(self) -> int:
        return int(
            self._db.execute("SELECT COUNT(*) FROM chunks WHERE vector IS NULL").fetchone()[0]
        )

    def _by_number(
        self, table: str, number: str, columns: str, keys: Iterable[tuple[str, int]]
    ) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """(article_id, (number, *columns)) of `table`'s rows for (article_id, number) keys:
        one query for up to KEYS_PER_QUERY keys, joined to the primary key (a query per
        article was ~260 statements a question at 100 k articles). Keys with no row are left
        out."""
        unique = list(dict.fromkeys(keys))
        wanted = ", ".join(f"t.{c.strip()}" for c in columns.split(","))
        for begin in range(0, len(unique), KEYS_PER_QUERY):
            batch = unique[begin : begin + KEYS_PER_QUERY]
            pairs = ",".join("(?,?)" for _ in batch)
            for row in self._db.execute(
                f"SELECT t.article_id, t.{number}, {wanted}"
                f" FROM (VALUES {pairs}) AS k JOIN {table} AS t"
                f" ON t.article_id = k.column1 AND t.{number} = k.column2",
                [value for key in batch for value in key],
            ):
                yield row[0], tuple(row[1:])

    def paragraph_span(self, article_id: str, paragraph: int) -> tuple[int, int] | None:
        row = self._db.execute(
            "SELECT min(start), max(end) FROM sentences WHERE article_id=? AND paragraph=?",
            (article_id, paragraph),
        ).fetchone()
        return (row[0], row[1]) if row and row[0] is not None else None

    def is_empty(self) -> bool:
        return self._db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None

    def counts(self) -> tuple[int, int, int, int]:
        row = self._db.execute(
            "SELECT count(*), coalesce(sum(sentences),0), coalesce(sum(chunks),0),"
            " coalesce(sum(length(text)),0) FROM articles"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def matching_ids(
        self,
        articles: Iterable[str] = (),
        since: float | None = None,
        until: float | None = None,
        source: str | None = None,
    ) -> set[str]:
        """Ids of articles that pass metadata filters (the BM25 side of a filtered search)."""
        clauses: list[str] = []
        args: list[object] = []
        ids = list(articles)
        if ids:
            clauses.append(f"id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        if since is not None:
            clauses.append("published_ts >= ?")
            args.append(since)
        if until is not None:
            clauses.append("published_ts <= ?")
            args.append(until)
        if source:
            clauses.append("source = ?")
            args.append(source)
        where = " AND ".join(clauses) or "1"
        return {r[0] for r in self._db.execute(f"SELECT id FROM articles WHERE {where}", args)}


def _claim(sentence: str) -> str | None:
    """The wrong claim of a correction note, None for any other sentence (most: no regex)."""
    return wrong_claim(sentence) if MARKER in sentence.lower() else None


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
