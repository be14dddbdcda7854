"""Articles from the web: article page URLs, and RSS/Atom feeds (a URL or a local file).

A page goes through the same trafilatura path as an HTML file and keeps its title, date,
author, site name and canonical URL; its origin is the URL asked for, so asking again stores
nothing new for an unchanged page and replaces a changed one. A feed (feedparser) gives its
items' links; items whose page is already stored are skipped without being fetched, the others
are fetched by a bounded pool, and an item's own date stands in for a page without one. A
feed URL is asked for with the ETag / Last-Modified of its last answer, kept in the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from vectorstore.fetch import Fetched, Fetcher, FetchError
from vectorstore.loaders import decode, parse_text
from vectorstore.types import Article, LoadError

PAGE_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)
FEED_SUFFIXES = (".rss", ".atom", ".xml")
POOL = 4  # pages fetched at once (each host is still spaced by the fetch policy's delay)
FETCH_BATCH = 32  # pages fetched before they are parsed


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def is_feed_file(path: Path) -> bool:
    return path.suffix.lower() in FEED_SUFFIXES


def looks_like_feed(body: bytes) -> bool:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


@dataclass(frozen=True)
class FeedItem:
    url: str
    title: str
    published: datetime | None


@dataclass(frozen=True)
class WebBatch:
    """What reading some URLs and feeds gave: articles to store, failures, and counts."""

    articles: tuple[Article, ...]
    failed: tuple[LoadError, ...]
    known_items: int  # feed items already stored: not fetched
    feeds_not_modified: int
    # (feed URL, ETag, Last-Modified) to keep once the articles are stored
    validators: tuple[tuple[str, str, str], ...] = ()


class Validators:
    """A feed URL's ETag and Last-Modified, kept between runs (in the store's manifest)."""

    def __init__(self, get: Callable[[str], str | None], put: Callable[[str, str], None]):
        self._get, self._put = get, put

    def of(self, url: str) -> tuple[str, str]:
        raw = self._get(f"http:{url}")
        if not raw:
            return "", ""
        saved = json.loads(raw)
        return saved.get("etag", ""), saved.get("last_modified", "")

    def save(self, url: str, etag: str, last_modified: str) -> None:
        if etag or last_modified:
            self._put(f"http:{url}", json.dumps({"etag": etag, "last_modified": last_modified}))


def feed_items(body: bytes, origin: str) -> list[FeedItem]:
    """The items of an RSS/Atom document that link to a page; raises ValueError if none."""
    import feedparser

    parsed = feedparser.parse(body)
    if not parsed.entries:
        problem = getattr(parsed, "bozo_exception", None)
        raise ValueError(f"not a feed with items{f' ({problem})' if problem else ''}")
    items = []
    for entry in parsed.entries:
        link = entry.get("link") or ""
        if not is_url(link):
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = (
            datetime(stamp[0], stamp[1], stamp[2], stamp[3], stamp[4], stamp[5], tzinfo=UTC)
            if stamp
            else None
        )
        items.append(FeedItem(link, entry.get("title") or "", published))
    if not items:
        raise ValueError("the feed's items link to no http(s) pages")
    return items


def page_article(
    body: bytes, url: str, final_url: str, date_order: str, item: FeedItem | None = None
) -> Article | LoadError:
    """An article page as an Article whose origin is `url`; the feed item's date and title
    stand in where the page has none."""
    text = decode(body, url)
    if isinstance(text, LoadError):
        return text
    [parsed] = parse_text(text, ".html", url, date_order=date_order)
    if isinstance(parsed, LoadError):
        return parsed
    if not parsed.url:
        parsed = replace(parsed, url=final_url)
    if item is not None and parsed.published is None and item.published is not None:
        parsed = replace(parsed, published=item.published)
    return parsed


def read_web(
    sources: Iterable[str | Path],
    fetcher: Fetcher,
    is_stored: Callable[[str], bool],
    validators: Validators,
    date_order: str = "dmy",
    task: Callable[[str, int], Callable[[int], None]] | None = None,
) -> WebBatch:
    """Articles from URLs (pages or feeds) and local feed files; failures never stop the rest.
    `is_stored(url)` says whether a page with that origin is already in the store."""
    articles: list[Article] = []
    failed: list[LoadError] = []
    known = not_modified = 0
    answered: list[tuple[str, str, str]] = []
    pages: list[tuple[str, FeedItem | None]] = []
    queued: set[str] = set()
    for source in sources:
        try:
            if isinstance(source, Path):
                items = feed_items(source.read_bytes(), str(source))
            else:
                etag, modified = validators.of(source)
                fetched = fetcher.get(source, PAGE_TYPES + FEED_TYPES, etag, modified)
                if fetched.not_modified:
                    not_modified += 1
                    continue
                if fetched.content_type.startswith(PAGE_TYPES) and not looks_like_feed(
                    fetched.body
                ):
                    articles_or_error = page_article(fetched.body, source, fetched.url, date_order)
                    (failed if isinstance(articles_or_error, LoadError) else articles).append(
                        articles_or_error  # type: ignore[arg-type]
                    )
                    continue
                items = feed_items(fetched.body, source)
                answered.append((source, fetched.etag, fetched.last_modified))
        except FetchError as err:
            failed.append(LoadError(err.url, err.reason))
            continue
        except (OSError, ValueError) as err:
            failed.append(LoadError(str(source), str(err)))
            continue
        for item in items:
            if is_stored(item.url):
                known += 1
            elif item.url not in queued:  # two feeds (or one twice) listing the same page
                queued.add(item.url)
                pages.append((item.url, item))
    advance = task("pages fetched", len(pages)) if task is not None and pages else None

    def fetch_page(job: tuple[str, FeedItem | None]) -> Fetched | LoadError:
        try:
            return fetcher.get(job[0], PAGE_TYPES)
        except FetchError as err:
            return LoadError(err.url, err.reason)

    # the pool waits on the network, a batch at a time; the batch is parsed here once it is
    # in (parsing in the pool's threads, or while they run, made 200 local pages 2-3x slower:
    # the GIL), and a batch bounds the page bodies held at once
    with ThreadPoolExecutor(POOL, thread_name_prefix="citeqa-fetch") as pool:
        for begin in range(0, len(pages), FETCH_BATCH):
            batch = pages[begin : begin + FETCH_BATCH]
            for (url, listed), got in zip(batch, list(pool.map(fetch_page, batch)), strict=True):
                result = (
                    got
                    if isinstance(got, LoadError)
                    else page_article(got.body, url, got.url, date_order, listed)
                )
                (failed if isinstance(result, LoadError) else articles).append(result)  # type: ignore[arg-type]
                if advance is not None:
                    advance(1)
    return WebBatch(tuple(articles), tuple(failed), known, not_modified, tuple(answered))
