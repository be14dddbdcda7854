"""The article store: manifest + Chroma vectors + BM25, opened under one writer lock.

Write order for every change is journal → Chroma → BM25 → manifest commit. A crash at any
point leaves a journal entry, and the next writer that opens the store rolls it back, so
an article is either wholly present (text, sentences, chunks, vectors, BM25 rows) or absent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from filelock import FileLock, Timeout

from vectorstore.chroma_store import ChromaVectors, VectorHit, Where, cosines
from vectorstore.dates import as_utc
from vectorstore.embed import Embedder
from vectorstore.errors import CiteqaError
from vectorstore.hnsw_files import torn_indexes
from vectorstore.ids import parse_vector_id, sentence_id
from vectorstore.lexical import LexicalIndex
from vectorstore.manifest import Manifest
from vectorstore.near_duplicates import Fingerprint
from vectorstore.settings import Settings
from vectorstore.types import (
    Article,
    Chunk,
    LexicalHit,
    Sentence,
    SentenceRow,
    StoredArticle,
)

# manifest meta key: set while the sentence vectors are made again after a torn index
REBUILD_VECTORS = "rebuild_vectors"


class StoreError(RuntimeError, CiteqaError):
    """The store cannot be used as asked; the message says why and what to do."""


class StoreInUseError(StoreError):
    pass


class ReadWriteLock:
    """Many readers at once, or one writer: a read-only store's queries share Chroma while its
    refresh swaps the client (Python has no such lock of its own)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0  # writers waiting: new readers queue behind them (no starvation)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


@dataclass(frozen=True)
class PreparedArticle:
    """An article split, chunked and embedded, ready to be written in one step."""

    article: Article
    sentences: tuple[Sentence, ...]
    chunks: tuple[Chunk, ...]
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray  # the normalised mean of each chunk's sentence vectors
    fingerprint: Fingerprint | None = None  # files it under its story (wire copies)


@dataclass(frozen=True)
class StoreStats:
    articles: int
    sentences: int
    chunks: int
    characters: int
    vectors: int
    bytes_on_disk: int
    model: str
    home: str
    chroma: str


@dataclass(frozen=True)
class IncomingArticles:
    """An ingest's articles sorted against the store before anything is embedded.

    `todo` are new texts to prepare and write; `copies` repeat the text of an earlier article
    of the same run under another origin (recorded once that article is stored); `superseded`
    are stored articles whose origin now names another text (removed once nothing names them).
    `retire` maps a new article to the stored earlier version of the same source and URL that
    it replaces; `older` are incoming articles not stored because a later version of the same
    source and URL is (stored, or later in this ingest).
    """

    todo: tuple[Article, ...]
    added: tuple[str, ...]
    replaced: tuple[str, ...]
    unchanged: tuple[str, ...]
    copies: tuple[Article, ...]
    superseded: tuple[str, ...]
    retire: Mapping[str, str] = field(default_factory=dict)
    older: tuple[str, ...] = ()


class ArticleStore:
    """Opened once per process; `close()` (or `with`) releases the writer lock.

    What answering needs is offered as read methods (dense and BM25 candidates, sentence rows,
    chunk members, article texts, filters); the manifest, Chroma and BM25 parts are private.
    """

    def __init__(self, settings: Settings, model_name: str, dimension: int):
        self.settings = settings
        self.home = settings.home
        self.read_only = settings.read_only
        self._lock = FileLock(str(self.home / "citeqa.lock"))
        self._open = False
        self._notes: tuple[int, list[tuple[str, int, str]]] | None = None
        if self.read_only:
            if not (self.home / "manifest.sqlite3").is_file():
                raise StoreError(f"no citeqa store at {self.home} to open read-only")
        else:
            self.home.mkdir(parents=True, exist_ok=True)
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                holder = _read(self.home / "citeqa.pid")
                raise StoreInUseError(
                    f"store is in use: {self.home} is open in another citeqa process"
                    f"{f' (PID {holder})' if holder else ''}; stop it, use another --home, "
                    "or answer from it with --read-only"
                ) from None
            (self.home / "citeqa.pid").write_text(str(os.getpid()))
        try:
            self._manifest = Manifest(self.home / "manifest.sqlite3")
            self._check_model(model_name, dimension)
            self.store_id = self._store_id()
            self._chroma_lock = ReadWriteLock()  # a reader reopens Chroma between queries
            self._discard_torn_index()
            self._vectors = self._open_vectors()
            if self.vectors_missing and not self.read_only:
                self._vectors.recreate_sentences()  # again after a rebuild cut short
            self._generation = self._manifest.generation()
            self._bm25_sentences, self._bm25_chunks = self._open_bm25()
            self.model_name = model_name
            if not self.read_only:
                self.recover()
                self._adopt_chunk_vectors()
                self._manifest.fill_notes()
                self._manifest.index_dates()
            self._open = True
        except BaseException:
            if self._lock.is_locked:
                self._lock.release()
            raise

    def _open_vectors(self) -> ChromaVectors:
        if self.read_only and not self.settings.chroma_url:
            self._refuse_torn_index()
        return ChromaVectors(
            path=None if self.settings.chroma_url else self.home / "chroma",
            url=self.settings.chroma_url,
            collection=self.settings.collection,
            owner=self.store_id,
            read_only=self.read_only,
        )

    def _discard_torn_index(self) -> None:
        """A writer removes an embedded Chroma index a killed process left torn (loading it
        would crash this process: vectorstore/hnsw_files.py) and records that every sentence
        vector must be made again; `open_store` does that with the model. The record is
        written first, so a process killed in between finds it and finishes the job."""
        if self.read_only or self.settings.chroma_url:
            return
        torn = torn_indexes(self.home / "chroma")
        if not torn:
            return
        reasons = "; ".join(f"{t.folder.name}: {t.reason}" for t in torn)
        self._manifest.set_meta(REBUILD_VECTORS, reasons)
        for index in torn:
            shutil.rmtree(index.folder)
        print(
            f"citeqa: the vector index in {self.home / 'chroma'} was left half-written by a "
            f"process that was killed ({reasons}); it was removed and the sentence vectors "
            "are made again from the stored articles",
            file=sys.stderr,
        )

    def _refuse_torn_index(self, attempts: int = 10) -> None:
        """A reader cannot rebuild a torn index (the writer does, on its next open) and must not
        load it: it says so instead. The files are looked at again for a while first, since a
        writer's flush in progress looks torn until it ends."""
        for attempt in range(attempts):
            torn = torn_indexes(self.home / "chroma")
            if not torn:
                return
            if attempt < attempts - 1:
                time.sleep(0.2)
        raise StoreError(
            f"the vector index in {self.home / 'chroma'} was left half-written by a process that "
            f"was killed ({torn[0].folder.name}: {torn[0].reason}); open the store once for "
            "writing (citeqa ingest, or citeqa serve without --read-only) to rebuild it"
        )

    @property
    def vectors_missing(self) -> bool:
        """Whether the sentence vectors are being made again (see `_discard_torn_index`)."""
        return self._manifest.get_meta(REBUILD_VECTORS) is not None

    def rebuild_vectors(self, embedder: Embedder, batch: int = 2048) -> int:
        """Embed every stored sentence again into the (new, empty) sentence collection.

        Each article's sentences are cut from its stored text as the manifest records them and
        upserted with the same ids and filter fields an ingest gives them; returns the count."""
        from vectorstore.progress import RichProgress  # rich only when there is a rebuild

        self._writable()
        articles = self._manifest.list_articles()
        done = 0
        with RichProgress() as progress:
            advance = progress.task("vectors rebuilt", sum(a.sentences for a in articles))
            group: list[StoredArticle] = []
            held = 0  # sentences in `group`
            for number, article in enumerate(articles):
                group.append(article)
                held += article.sentences
                if held < batch and number < len(articles) - 1:
                    continue
                ids, texts, metas = [], [], []
                stored = self._manifest.texts([a.id for a in group])
                keys = [(a.id, i) for a in group for i in range(a.sentences)]
                rows = self._manifest.sentence_rows(keys)
                for a in group:
                    for i in range(a.sentences):
                        row = rows[(a.id, i)]
                        ids.append(sentence_id(a.id, i))
                        texts.append(stored[a.id][row.start : row.end])
                        metas.append(_filter_metadata(a))
                vectors = embedder.embed_documents(texts, progress=advance)
                self._vectors.add(self._vectors.sentences, ids, vectors, metas)
                done += len(ids)
                group, held = [], 0
        self._manifest.delete_meta(REBUILD_VECTORS)
        return done

    def _open_bm25(self) -> tuple[LexicalIndex, LexicalIndex]:
        """Both BM25 fields; a reader retries when the writer merged segments meanwhile."""
        for attempt in range(5):
            try:
                return (
                    LexicalIndex(self.home / "bm25" / "sentences", read_only=self.read_only),
                    LexicalIndex(self.home / "bm25" / "chunks", read_only=self.read_only),
                )
            except FileNotFoundError:
                if not self.read_only or attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def refresh(self) -> bool:
        """In a read-only process: pick up what the writer committed since the last look
        (BM25 reloaded, embedded Chroma reopened). One SQLite read when nothing changed;
        returns whether anything was reloaded."""
        if not self.read_only:
            return False
        generation = self._manifest.generation()
        if generation == self._generation:
            return False
        sentences, chunks = self._open_bm25()
        if self._vectors.embedded:  # its in-memory index does not see another process's writes
            with self._chroma_lock.writing():
                self._vectors.close()
                self._vectors = self._open_vectors()
        self._bm25_sentences, self._bm25_chunks = sentences, chunks
        self._generation = generation
        return True

    def _writable(self) -> None:
        if self.read_only:
            raise StoreError(
                f"the store at {self.home} is open read-only in this process: ingest and "
                "remove in the process that writes it (the one without --read-only)"
            )

    def __enter__(self) -> ArticleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._open:
            self._open = False
            self._manifest.close()
            self._vectors.close()
        if self._lock.is_locked:
            self._lock.release()

    def _check_model(self, model_name: str, dimension: int) -> None:
        stored = self._manifest.get_meta("model")
        if stored is None and self.read_only:
            raise StoreError(f"the store at {self.home} has never been written; nothing to read")
        if stored is None:
            self._manifest.set_meta("model", model_name)
            self._manifest.set_meta("dimension", str(dimension))
        elif stored != model_name:
            raise StoreError(
                f"the store at {self.home} was built with the embedding model {stored!r}, "
                f"not {model_name!r}: its vectors are not comparable. Use --model {stored} "
                f"(or CITEQA_MODEL), or a new --home for the other model"
            )

    def _store_id(self) -> str:
        """A random id made once per store; Chroma collections record which store owns them."""
        found = self._manifest.get_meta("store_id")
        if found is None:
            found = uuid.uuid4().hex[:16]
            self._manifest.set_meta("store_id", found)
        return found

    # -- writing ---------------------------------------------------------------------------
    def _adopt_chunk_vectors(self) -> None:
        """Move an older store's chunk vectors from Chroma into the manifest, then drop
        their collection (once; the manifest commits each page before the collection goes)."""
        pages = self._vectors.legacy_chunk_vectors()
        if pages is None:
            return
        for page in pages:
            self._manifest.set_chunk_vectors(
                (*parse_vector_id(vector_id), vector) for vector_id, vector in page
            )
        self._vectors.drop_legacy_chunks()

    def recover(self) -> list[str]:
        """Roll back writes a crashed process left half done, and finish its replacements.

        An ingest that replaces an edited file's article points the file at the new article
        when it commits it, and removes the old one last; killed in between, it leaves the old
        article with no file naming it. Nothing else leaves an article without an origin.
        """
        self._writable()
        pending = [article_id for article_id, _ in self._manifest.pending()]
        if pending:
            self._erase(pending)
        orphans = self._manifest.orphans()
        self.remove(orphans)
        return [*pending, *orphans]

    def write(
        self, prepared: Sequence[PreparedArticle], retire: Mapping[str, str] | None = None
    ) -> None:
        """Store fully prepared articles: all of each, or (after a crash) none of it.
        `retire`: new article id → the earlier version it replaces (see sort_incoming)."""
        self._writable()
        if not prepared:
            return
        ids = [p.article.id for p in prepared]
        self._manifest.begin(ids, "add")
        sentence_ids, sentence_vectors, sentence_meta = [], [], []
        sentence_rows, commits = [], []
        chunk_rows: list[tuple[str, int, str]] = []
        for p in prepared:
            base = _filter_metadata(p.article)
            chunk_of = {
                i: c.number for c in p.chunks for i in range(c.first_sentence, c.last_sentence + 1)
            }
            for s in p.sentences:
                sentence_ids.append(sentence_id(p.article.id, s.index))
                sentence_meta.append(base)
                sentence_rows.append((p.article.id, s.index, s.text))
            sentence_vectors.append(p.sentence_vectors)
            chunk_rows.extend((p.article.id, c.number, c.text) for c in p.chunks)
            commits.append((p.article, p.sentences, p.chunks, chunk_of, p.chunk_vectors))
        self._vectors.add(
            self._vectors.sentences,
            sentence_ids,
            np.vstack(sentence_vectors),
            sentence_meta,
        )
        self._bm25_sentences.add(sentence_rows)
        self._bm25_chunks.add(chunk_rows)
        fingerprints = {p.article.id: p.fingerprint for p in prepared if p.fingerprint}
        self._manifest.commit_articles(commits, fingerprints, retire)

    def sort_incoming(self, articles: Sequence[Article]) -> IncomingArticles:
        """Skip known texts, match edited files to their stored version by origin, and
        replace an earlier version of the same source and URL by a later one.

        An unchanged text found under a new origin has that origin recorded at once; the
        article its origin named before is superseded.
        """
        self._writable()
        added: list[str] = []
        unchanged: list[str] = []
        replaced: list[str] = []
        superseded: list[str] = []
        todo: list[Article] = []
        seen: set[str] = set()
        copies: list[Article] = []  # same text as an earlier article of this run: named after it
        articles, older = _latest_versions(articles)
        retire: dict[str, str] = {}
        for article in articles:
            previous = self._manifest.article_for_origin(article.origin)
            if article.id in seen or self._manifest.has(article.id):
                unchanged.append(article.id)
                if previous != article.id:
                    if article.id in seen:
                        copies.append(article)  # not stored yet; its origin is set once it is
                    else:
                        self._manifest.set_origin(article.origin, article.id)
                    if previous:
                        superseded.append(previous)
                continue
            earlier, stored_is_newer = self._earlier_version(article)
            if stored_is_newer:
                older.append(article.id)
                continue
            seen.add(article.id)
            todo.append(article)
            if earlier:
                retire[article.id] = earlier
                replaced.append(article.id)
                superseded.append(earlier)
                if previous and previous not in (article.id, earlier):
                    superseded.append(previous)
            elif previous and previous != article.id:
                replaced.append(article.id)
                superseded.append(previous)
            else:
                added.append(article.id)
        return IncomingArticles(
            tuple(todo),
            tuple(added),
            tuple(replaced),
            tuple(unchanged),
            tuple(copies),
            tuple(superseded),
            retire,
            tuple(older),
        )

    def _earlier_version(self, article: Article) -> tuple[str | None, bool]:
        """(the stored article of the same source and URL, whether it is the later version):
        (None, False) when there is none."""
        if not _names_an_article(article.url):
            return None, False
        stored_id = self._manifest.article_for_url(article.source, article.url)
        if stored_id is None or stored_id == article.id:
            return None, False
        stored = self._manifest.article(stored_id)
        newer = bool(
            stored
            and stored.published
            and article.published
            and as_utc(article.published) < as_utc(stored.published)
        )
        return stored_id, newer

    def stored_origin(self, origin: str) -> bool:
        """Whether an article from this origin (a file, a URL) is stored."""
        return self._manifest.article_for_origin(origin) is not None

    def meta(self, key: str) -> str | None:
        return self._manifest.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self._writable()
        self._manifest.set_meta(key, value)

    def stories(self, article_ids: Iterable[str]) -> dict[str, list[str]]:
        """Each article's story: the ids of its stored near copies (wire copies, syndicated
        versions) and itself, oldest first."""
        return self._manifest.stories(article_ids)

    def settle(self, incoming: IncomingArticles) -> list[str]:
        """After the writes: name stored copies by their origins, and remove superseded
        articles no origin names any more (a crash before this is finished by `recover`)."""
        for copy in incoming.copies:
            if self._manifest.has(copy.id):
                self._manifest.set_origin(copy.origin, copy.id)
        orphans = [
            old for old in dict.fromkeys(incoming.superseded) if not self._manifest.origins_of(old)
        ]
        return self.remove(orphans)

    @property
    def chroma_write_seconds(self) -> float:
        """Time spent in Chroma's upserts since the store was opened (ingest reports it)."""
        return self._vectors.write_seconds

    def remove(self, article_ids: Sequence[str]) -> list[str]:
        """Remove articles completely; returns the ids that were present."""
        self._writable()
        present = [a for a in dict.fromkeys(article_ids) if self._manifest.has(a)]
        if present:
            self._manifest.begin(present, "remove")
            self._erase(present)
        return present

    def _erase(self, article_ids: Sequence[str]) -> None:
        self._vectors.delete_articles(list(article_ids))
        self._bm25_sentences.remove(article_ids)
        self._bm25_chunks.remove(article_ids)
        self._manifest.delete_articles(article_ids)

    # -- reading ---------------------------------------------------------------------------
    def list_articles(self, limit: int | None = None, matching: str = "") -> list[StoredArticle]:
        """Newest first; `matching` filters on title, source or id, `limit` caps the list."""
        return self._manifest.list_articles(limit, matching)

    def article_count(self) -> int:
        return self._manifest.article_count()

    def sources(self) -> list[str]:
        return self._manifest.sources()

    def resolve_ids(self, prefixes: Sequence[str]) -> dict[str, list[str]]:
        """Full ids for each given id or unique id prefix (as `git` does for hashes)."""
        ids = self._manifest.ids()
        return {p: [i for i in ids if i.startswith(p)] for p in prefixes}

    def stats(self) -> StoreStats:
        articles, sentences, chunks, chars = self._manifest.counts()
        return StoreStats(
            articles=articles,
            sentences=sentences,
            chunks=chunks,
            characters=chars,
            vectors=self._vectors.count(),
            bytes_on_disk=_du(self.home),
            model=self.model_name,
            home=str(self.home),
            chroma=self.settings.chroma_url or str(self.home / "chroma"),
        )

    def article_ids(self) -> list[str]:
        return self._manifest.ids()

    def articles(self, article_ids: Iterable[str]) -> dict[str, StoredArticle]:
        return self._manifest.articles(article_ids)

    def text(self, article_id: str) -> str | None:
        return self._manifest.text(article_id)

    def texts(self, article_ids: Iterable[str]) -> dict[str, str]:
        return self._manifest.texts(article_ids)

    def sentence_rows(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], SentenceRow]:
        """Where each (article id, sentence index) sits; keys not stored are left out."""
        return self._manifest.sentence_rows(keys)

    def chunk_members(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], range]:
        """The sentence indexes of each (article id, chunk number)."""
        return self._manifest.chunk_sentences(keys)

    def paragraph_span(self, article_id: str, paragraph: int) -> tuple[int, int] | None:
        """(start, end) of a paragraph in its article's text."""
        return self._manifest.paragraph_span(article_id, paragraph)

    def matching_ids(
        self,
        articles: Iterable[str] = (),
        since: float | None = None,
        until: float | None = None,
        source: str | None = None,
    ) -> set[str]:
        """Ids of the articles passing metadata filters (timestamps in seconds)."""
        return self._manifest.matching_ids(articles, since, until, source)

    def bm25_sentences(
        self, query: str, k: int, allowed: set[str] | None = None
    ) -> list[LexicalHit]:
        """The k best BM25 sentences; `allowed` limits the articles searched."""
        return [LexicalHit(*hit) for hit in self._bm25_sentences.search(query, k, allowed)]

    def similar_sentences(self, sentence: str, k: int) -> list[LexicalHit]:
        """The k stored sentences most like `sentence` (its copies first; BM25 among the rows
        holding nearly all of its rarest terms)."""
        return [LexicalHit(*hit) for hit in self._bm25_sentences.similar(sentence, k)]

    def bm25_chunks(self, query: str, k: int, allowed: set[str] | None = None) -> list[LexicalHit]:
        """The k best BM25 chunks; `allowed` limits the articles searched."""
        return [LexicalHit(*hit) for hit in self._bm25_chunks.search(query, k, allowed)]

    def bm25_sentence_scores(
        self, query: str, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], float]:
        """BM25 of the given sentences (0 where no query term occurs)."""
        return self._bm25_sentences.scores_for(query, keys)

    def bm25_chunk_scores(
        self, query: str, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], float]:
        """BM25 of the given chunks (0 where no query term occurs)."""
        return self._bm25_chunks.scores_for(query, keys)

    def query_coverage(self, query: str, text: str) -> float:
        """Share of the query's IDF weight (over sentences) whose terms occur in `text`."""
        return self._bm25_sentences.coverage(query, text)

    def dense_sentences(self, vector: np.ndarray, k: int, where: Where | None) -> list[VectorHit]:
        """The k nearest sentences (HNSW; chunks are found by BM25 only, see ChromaVectors)."""
        with self._chroma_lock.reading():
            return self._vectors.query(self._vectors.sentences, vector, k, where)

    def chunk_similarities(
        self, vector: np.ndarray, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], float]:
        """Exact cosine with each (article id, chunk number), from the manifest's chunk vectors
        (no index: a question needs the cosines of its candidates' chunks only)."""
        found = self._manifest.chunk_vectors(keys)
        if not found:
            return {}
        order = list(found)
        scores = cosines(vector, np.vstack([found[key] for key in order]))
        return {key: float(c) for key, c in zip(order, scores, strict=True)}

    def sentence_similarities(
        self, vector: np.ndarray, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], float]:
        """Exact cosine with each (article id, sentence index) that has a stored vector."""
        ids = {sentence_id(a, n): (a, n) for a, n in keys}
        with self._chroma_lock.reading():
            found = self._vectors.similarities(self._vectors.sentences, vector, list(ids))
        return {ids[i]: score for i, score in found.items() if i in ids}

    def correction_notes(self) -> list[tuple[str, int, str]]:
        """(article id, sentence index, wrong claim) of every stored correction note
        (vectorstore/notes.py); read once per generation of the store."""
        generation = self._manifest.generation()
        if self._notes is None or self._notes[0] != generation:
            self._notes = (generation, self._manifest.notes())
        return self._notes[1]

    def is_empty(self) -> bool:
        return self._manifest.is_empty()


def _latest_versions(articles: Sequence[Article]) -> tuple[list[Article], list[str]]:
    """The articles of one ingest with only the latest version of each source and URL
    (ties: the last given); the ids of the earlier versions left out."""
    latest: dict[tuple[str, str], int] = {}
    for position, article in enumerate(articles):
        if not _names_an_article(article.url):
            continue
        key = (article.source, article.url)
        best = latest.get(key)
        if best is None or not _published_after(articles[best], article):
            latest[key] = position
    keep = set(latest.values())
    kept = [a for i, a in enumerate(articles) if not _names_an_article(a.url) or i in keep]
    dropped = [a.id for i, a in enumerate(articles) if _names_an_article(a.url) and i not in keep]
    return kept, dropped


def _names_an_article(url: str) -> bool:
    """A URL with a path: a site's home page ("https://news.example/") given for every
    article of a feed or a dump is no article's address, and must not make them versions."""
    return bool(url) and bool(urlsplit(url).path.strip("/"))


def _published_after(first: Article, second: Article) -> bool:
    """True when `first` is strictly later than `second` (both dated)."""
    if first.published is None or second.published is None:
        return False
    return as_utc(first.published) > as_utc(second.published)


def open_store(settings: Settings, embedder: Embedder) -> ArticleStore:
    """Open a store; a writer first makes again the vectors of a torn index."""
    store = ArticleStore(settings, embedder.name, embedder.dimension)
    if store.vectors_missing and not store.read_only:
        try:
            store.rebuild_vectors(embedder)
        except BaseException:
            store.close()
            raise
    return store


def _filter_metadata(article: Article | StoredArticle) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "published_ts": int(article.published.timestamp()) if article.published else -1,
        "source": article.source,
    }


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _du(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(root, name))
    return total
