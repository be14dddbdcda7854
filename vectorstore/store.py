"""The article store: manifest + Chroma vectors + BM25, opened under one writer lock.

Write order for every change is journal → Chroma → BM25 → manifest commit. A crash at any
point leaves a journal entry, and the next writer that opens the store rolls it back, so
an article is either wholly present (text, sentences, chunks, vectors, BM25 rows) or absent.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from vectorstore.chroma_store import ChromaVectors, VectorHit, Where
from vectorstore.embed import Embedder
from vectorstore.ids import chunk_id, sentence_id
from vectorstore.lexical import LexicalIndex
from vectorstore.manifest import Manifest
from vectorstore.settings import Settings
from vectorstore.types import Article, Chunk, Sentence, StoredArticle


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message says why and what to do."""


class StoreInUseError(StoreError):
    pass


@dataclass(frozen=True)
class PreparedArticle:
    """An article split, chunked and embedded, ready to be written in one step."""

    article: Article
    sentences: tuple[Sentence, ...]
    chunks: tuple[Chunk, ...]
    sentence_vectors: np.ndarray
    chunk_vectors: np.ndarray


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


class ArticleStore:
    """Opened once per process; `close()` (or `with`) releases the writer lock."""

    def __init__(self, settings: Settings, model_name: str, dimension: int):
        self.settings = settings
        self.home = settings.home
        self.home.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.home / "citeqa.lock"))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            holder = _read(self.home / "citeqa.pid")
            raise StoreInUseError(
                f"store is in use: {self.home} is open in another citeqa process"
                f"{f' (PID {holder})' if holder else ''}; stop it or use another --home"
            ) from None
        (self.home / "citeqa.pid").write_text(str(os.getpid()))
        try:
            self.manifest = Manifest(self.home / "manifest.sqlite3")
            self._check_model(model_name, dimension)
            self.store_id = self._store_id()
            self.vectors = ChromaVectors(
                path=None if settings.chroma_url else self.home / "chroma",
                url=settings.chroma_url,
                collection=settings.collection,
                owner=self.store_id,
            )
            # the chunk query of `dense` runs here while the caller asks for sentences
            self._query_pool = ThreadPoolExecutor(4, thread_name_prefix="citeqa-dense")
            self.lexical_sentences = LexicalIndex(self.home / "bm25" / "sentences")
            self.lexical_chunks = LexicalIndex(self.home / "bm25" / "chunks")
            self.model_name = model_name
            self.recover()
        except BaseException:
            self._lock.release()
            raise

    def __enter__(self) -> ArticleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._lock.is_locked:
            self._query_pool.shutdown(wait=True)
            self.manifest.close()
            self.vectors.close()
            self._lock.release()

    def _check_model(self, model_name: str, dimension: int) -> None:
        stored = self.manifest.get_meta("model")
        if stored is None:
            self.manifest.set_meta("model", model_name)
            self.manifest.set_meta("dimension", str(dimension))
        elif stored != model_name:
            raise StoreError(
                f"the store at {self.home} was built with the embedding model {stored!r}, "
                f"not {model_name!r}: its vectors are not comparable. Use --model {stored} "
                f"(or CITEQA_MODEL), or a new --home for the other model"
            )

    def _store_id(self) -> str:
        """A random id made once per store; Chroma collections record which store owns them."""
        found = self.manifest.get_meta("store_id")
        if found is None:
            found = uuid.uuid4().hex[:16]
            self.manifest.set_meta("store_id", found)
        return found

    # -- writing ---------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Roll back writes a crashed process left half done, and finish its replacements.

        An ingest that replaces an edited file's article points the file at the new article
        when it commits it, and removes the old one last; killed in between, it leaves the old
        article with no file naming it. Nothing else leaves an article without an origin.
        """
        pending = [article_id for article_id, _ in self.manifest.pending()]
        if pending:
            self._erase(pending)
        orphans = self.manifest.orphans()
        self.remove(orphans)
        return [*pending, *orphans]

    def write(self, prepared: Sequence[PreparedArticle]) -> None:
        """Store fully prepared articles: all of each, or (after a crash) none of it."""
        if not prepared:
            return
        ids = [p.article.id for p in prepared]
        self.manifest.begin(ids, "add")
        sentence_ids, sentence_vectors, sentence_meta = [], [], []
        chunk_ids, chunk_vectors, chunk_meta = [], [], []
        sentence_rows, chunk_rows, commits = [], [], []
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
            for c in p.chunks:
                chunk_ids.append(chunk_id(p.article.id, c.number))
                chunk_meta.append(base)
                chunk_rows.append((p.article.id, c.number, c.text))
            chunk_vectors.append(p.chunk_vectors)
            commits.append((p.article, p.sentences, p.chunks, chunk_of))
        self.vectors.add(
            self.vectors.sentences,
            sentence_ids,
            np.vstack(sentence_vectors),
            sentence_meta,
        )
        self.vectors.add(
            self.vectors.chunks, chunk_ids, np.vstack(chunk_vectors), chunk_meta
        )
        self.lexical_sentences.add(sentence_rows)
        self.lexical_chunks.add(chunk_rows)
        self.manifest.commit_articles(commits)

    def remove(self, article_ids: Sequence[str]) -> list[str]:
        """Remove articles completely; returns the ids that were present."""
        present = [a for a in dict.fromkeys(article_ids) if self.manifest.has(a)]
        if present:
            self.manifest.begin(present, "remove")
            self._erase(present)
        return present

    def _erase(self, article_ids: Sequence[str]) -> None:
        self.vectors.delete_articles(list(article_ids))
        self.lexical_sentences.remove(article_ids)
        self.lexical_chunks.remove(article_ids)
        self.manifest.delete_articles(article_ids)

    # -- reading ---------------------------------------------------------------------------
    def list_articles(self) -> list[StoredArticle]:
        return self.manifest.list_articles()

    def resolve_ids(self, prefixes: Sequence[str]) -> dict[str, list[str]]:
        """Full ids for each given id or unique id prefix (as `git` does for hashes)."""
        ids = self.manifest.ids()
        return {p: [i for i in ids if i.startswith(p)] for p in prefixes}

    def stats(self) -> StoreStats:
        articles, sentences, chunks, chars = self.manifest.counts()
        sentence_vectors, chunk_vectors = self.vectors.counts()
        return StoreStats(
            articles=articles,
            sentences=sentences,
            chunks=chunks,
            characters=chars,
            vectors=sentence_vectors + chunk_vectors,
            bytes_on_disk=_du(self.home),
            model=self.model_name,
            home=str(self.home),
            chroma=self.settings.chroma_url or str(self.home / "chroma"),
        )

    def dense(
        self, vector: np.ndarray, sentences: int, chunks: int, where: Where | None
    ) -> tuple[list[VectorHit], list[VectorHit]]:
        """The nearest sentences and chunks, both queries in flight at once."""
        pending = self._query_pool.submit(self.dense_chunks, vector, chunks, where)
        return self.dense_sentences(vector, sentences, where), pending.result()

    def dense_sentences(self, vector: np.ndarray, k: int, where: Where | None) -> list[VectorHit]:
        return self.vectors.query(self.vectors.sentences, vector, k, where)

    def dense_chunks(self, vector: np.ndarray, k: int, where: Where | None) -> list[VectorHit]:
        return self.vectors.query(self.vectors.chunks, vector, k, where)

    def sentence_similarities(
        self, vector: np.ndarray, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], float]:
        """Exact cosine with each (article id, sentence index) that has a stored vector."""
        return self._similarities(self.vectors.sentences, sentence_id, vector, keys)

    def chunk_similarities(
        self, vector: np.ndarray, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], float]:
        """Exact cosine with each (article id, chunk number) that has a stored vector."""
        return self._similarities(self.vectors.chunks, chunk_id, vector, keys)

    def _similarities(
        self,
        collection: Any,
        make_id: Callable[[str, int], str],
        vector: np.ndarray,
        keys: Iterable[tuple[str, int]],
    ) -> dict[tuple[str, int], float]:
        ids = {make_id(a, n): (a, n) for a, n in keys}
        found = self.vectors.similarities(collection, vector, list(ids))
        return {ids[i]: score for i, score in found.items() if i in ids}

    def is_empty(self) -> bool:
        return self.manifest.is_empty()


def open_store(settings: Settings, embedder: Embedder) -> ArticleStore:
    return ArticleStore(settings, embedder.name, embedder.dimension)


def _filter_metadata(article: Article) -> dict[str, Any]:
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
