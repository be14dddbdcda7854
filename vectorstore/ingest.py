"""Ingest: files → articles → sentences → chunks → vectors → store, in bounded batches.

Each batch is written in one journaled step, so an interrupted ingest keeps every batch that
finished and the next run picks up the rest (already stored articles are skipped by id).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import numpy as np

from vectorstore.chunks import group_chunks
from vectorstore.embed import Embedder
from vectorstore.fetch import Fetcher, FetchPolicy
from vectorstore.loaders import find_files, load_file
from vectorstore.near_duplicates import fingerprint
from vectorstore.sentences import split_sentences
from vectorstore.store import ArticleStore, PreparedArticle
from vectorstore.types import Article, IngestReport, LoadError, Sentence
from vectorstore.web import Validators, WebBatch, is_feed_file, is_url, read_web

BATCH_SENTENCES = 2048
# articles are read, split and stored this many characters at a time (~2,000 news articles):
# an ingest of 100,000 articles holds one chunk, not the whole input
CHUNK_CHARS = 16_000_000


class Progress(Protocol):
    """Anything that can show a named counter moving towards a total; naming a task again
    adds to its total (an ingest learns its sentences chunk by chunk)."""

    def task(self, name: str, total: int) -> Callable[[int], None]: ...


class NoProgress:
    def task(self, name: str, total: int) -> Callable[[int], None]:
        return lambda n: None


def ingest_paths(
    store: ArticleStore,
    embedder: Embedder,
    paths: Iterable[str | Path],
    progress: Progress | None = None,
    fetch: FetchPolicy | None = None,
) -> IngestReport:
    """Read, clean and store every article under `paths` (files, folders, article URLs,
    feed URLs and feed files); bad ones are reported, not fatal."""
    started = time.perf_counter()
    progress = progress or NoProgress()
    skipped: Counter[str] = Counter()
    given = [str(p) for p in paths]
    web_sources: list[str | Path] = [p for p in given if is_url(p)]
    web_sources += [Path(p) for p in given if not is_url(p) and is_feed_file(Path(p))]
    local = [p for p in given if not is_url(p) and not is_feed_file(Path(p))]
    web: WebBatch | None = None
    validators = Validators(store.meta, store.set_meta)
    if web_sources:
        policy = fetch or FetchPolicy(max_bytes=store.settings.max_file_bytes)
        if policy.allow_private and not policy.private_hosts:  # the hosts asked for, only
            named = {urlsplit(str(s)).hostname or "" for s in web_sources if is_url(str(s))}
            policy = replace(policy, private_hosts=frozenset(named))
        with Fetcher(policy) as fetcher:
            web = read_web(
                web_sources,
                fetcher,
                store.stored_origin,
                validators,
                store.settings.date_order,
                progress.task,
            )
    found = list(find_files(local, skipped))
    failed: list[LoadError] = [f for f in found if isinstance(f, LoadError)]
    files = [f for f in found if isinstance(f, Path)]
    reports: list[IngestReport] = []
    advance_files = progress.task("files", len(files))
    chunk: list[Article] = []
    chunk_chars = 0
    for path in files:
        for item in load_file(
            path, date_order=store.settings.date_order, max_bytes=store.settings.max_file_bytes
        ):
            if isinstance(item, LoadError):
                failed.append(item)
                continue
            chunk.append(item)
            chunk_chars += len(item.text)
            if chunk_chars >= CHUNK_CHARS:  # memory stays bounded whatever the input's size
                reports.append(ingest_articles(store, embedder, chunk, progress))
                chunk, chunk_chars = [], 0
        advance_files(1)
    if web is not None:
        chunk += web.articles
        failed += web.failed
    if chunk or not reports:
        reports.append(ingest_articles(store, embedder, chunk, progress))
    for url, etag, modified in web.validators if web is not None else ():
        validators.save(url, etag, modified)  # only now: its items are stored
    extra: Counter[str] = Counter()
    for report in reports:
        extra.update(report.extra)
    if web is not None:
        extra.update(feed_items_known=web.known_items, feeds_not_modified=web.feeds_not_modified)
    return IngestReport(
        added=tuple(a for r in reports for a in r.added),
        unchanged=tuple(a for r in reports for a in r.unchanged),
        replaced=tuple(a for r in reports for a in r.replaced),
        failed=(*failed, *(f for r in reports for f in r.failed)),
        sentences=sum(r.sentences for r in reports),
        seconds=time.perf_counter() - started,
        older=tuple(a for r in reports for a in r.older),
        extra={k: float(v) for k, v in extra.items()},
        skipped=tuple(sorted(skipped.items())),
    )


def ingest_articles(
    store: ArticleStore,
    embedder: Embedder,
    articles: Sequence[Article],
    progress: Progress | None = None,
) -> IngestReport:
    """Store new articles, skip known ones, replace edited ones (matched by origin)."""
    started = time.perf_counter()
    progress = progress or NoProgress()
    incoming = store.sort_incoming(articles)
    todo = list(incoming.todo)
    failed: list[LoadError] = []
    split = {a.id: split_sentences(a.text, a.id) for a in todo}
    for article in todo:
        if not split[article.id]:
            failed.append(LoadError(article.origin, "no sentences found in the article text"))
    todo = [a for a in todo if split[a.id]]
    good = {a.id for a in todo}
    added = [a for a in incoming.added if a in good]
    replaced = [a for a in incoming.replaced if a in good]

    chroma_before = store.chroma_write_seconds
    total_sentences = sum(len(split[a.id]) for a in todo)
    advance = progress.task("sentences embedded", total_sentences)
    batch: list[Article] = []
    batch_size = 0
    embed_seconds = 0.0
    for position, article in enumerate(todo):
        batch.append(article)
        batch_size += len(split[article.id])
        if batch_size >= BATCH_SENTENCES or position == len(todo) - 1:
            t0 = time.perf_counter()
            prepared = _prepare(batch, split, embedder, store.settings.chunk_tokens, advance)
            embed_seconds += time.perf_counter() - t0
            store.write(prepared, incoming.retire)
            batch, batch_size = [], 0

    store.settle(incoming)
    return IngestReport(
        added=tuple(added),
        unchanged=incoming.unchanged,
        replaced=tuple(replaced),
        failed=tuple(failed),
        sentences=total_sentences,
        seconds=time.perf_counter() - started,
        older=incoming.older,
        extra={
            "embed_seconds": embed_seconds,
            "chroma_seconds": store.chroma_write_seconds - chroma_before,
            "characters": float(sum(len(a.text) for a in todo)),
        },
    )


def _prepare(
    batch: list[Article],
    split: dict[str, list[Sentence]],
    embedder: Embedder,
    budget: int,
    advance: Callable[[int], None],
) -> list[PreparedArticle]:
    """Embed a whole batch in one call (fewer, fuller model batches), then cut per article."""
    texts = [s.text for a in batch for s in split[a.id]]
    counts = embedder.count_tokens(texts)
    vectors = embedder.embed_documents(texts, progress=advance, token_counts=counts)
    prepared = []
    offset = 0
    for article in batch:
        sentences = split[article.id]
        n = len(sentences)
        own = vectors[offset : offset + n]
        chunks = group_chunks(
            article.text,
            sentences,
            counts[offset : offset + n],
            min(budget, embedder.max_tokens - 2),
        )
        chunk_vectors = np.vstack(
            [_unit(own[c.first_sentence : c.last_sentence + 1].mean(axis=0)) for c in chunks]
        )
        prepared.append(
            PreparedArticle(
                article,
                tuple(sentences),
                tuple(chunks),
                own,
                chunk_vectors,
                fingerprint(article.text),
            )
        )
        offset += n
    return prepared


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
