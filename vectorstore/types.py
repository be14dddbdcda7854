"""The records that cross stage boundaries: loaders → sentences → chunks → store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """A cleaned article as the loaders produce it; `text` is what sentences index into."""

    id: str
    title: str
    text: str
    published: datetime | None = None
    source: str = ""
    url: str = ""
    author: str = ""
    origin: str = ""  # where it came from: file path, or "file.jsonl:LINE"


@dataclass(frozen=True)
class Sentence:
    """A citable unit: `article.text[start:end] == text`."""

    article_id: str
    index: int
    text: str
    start: int
    end: int
    paragraph: int = 0


@dataclass(frozen=True)
class Chunk:
    """A run of whole consecutive sentences that fits the embedding model's input."""

    id: str
    article_id: str
    number: int
    first_sentence: int
    last_sentence: int  # inclusive
    text: str


@dataclass(frozen=True, slots=True)
class SentenceRow:
    """Where a stored sentence sits: `text[start:end]` of its article, in which paragraph and
    which chunk. Keyed by (article id, sentence index) in the store's read API."""

    start: int
    end: int
    paragraph: int
    chunk: int


@dataclass(frozen=True, slots=True)
class LexicalHit:
    """One BM25 match: a sentence (number = sentence index) or a chunk (number = chunk number)."""

    article_id: str
    number: int
    score: float

    @property
    def key(self) -> tuple[str, int]:
        return (self.article_id, self.number)


@dataclass(frozen=True)
class LoadError:
    """One file (or record) that could not be read, and why, in words a user can act on."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass(frozen=True)
class StoredArticle:
    """An article as listed from the store, with its counts."""

    id: str
    title: str
    published: datetime | None
    source: str
    url: str
    author: str
    origin: str
    sentences: int
    chunks: int
    chars: int
    story: str = ""  # near copies (wire copies, syndicated versions) share one story id


@dataclass(frozen=True)
class IngestReport:
    """What one ingest run did: the closing summary line is printed from this."""

    added: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    failed: tuple[LoadError, ...] = ()
    sentences: int = 0
    seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)
    skipped: tuple[tuple[str, int], ...] = ()  # (file type, count): unsupported, not read
    older: tuple[str, ...] = ()  # not stored: a later version of the same source and URL is

    @property
    def ok(self) -> bool:
        return not self.failed

    def skipped_text(self) -> str:
        """The skip line, e.g. "skipped 2 files of unsupported types: .exe 1, .pdf 1";
        "" when nothing was skipped."""
        total = sum(count for _, count in self.skipped)
        if not total:
            return ""
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.skipped)
        files = "file" if total == 1 else "files"
        types = "type" if len(self.skipped) == 1 else "types"
        return f"skipped {total} {files} of unsupported {types}: {kinds}"

    def summary(self) -> str:
        skipped = self.skipped_text()
        return (
            f"{len(self.added)} added, {len(self.unchanged)} unchanged, "
            f"{len(self.replaced)} replaced, {len(self.failed)} failed"
            + (f", {len(self.older)} older versions not stored" if self.older else "")
            + "; "
            f"{self.sentences} sentences embedded in {self.seconds:.1f} s"
            + (f"; {skipped}" if skipped else "")
            + (f"; {known:g} feed items already stored" if (known := self.known_items) else "")
        )

    @property
    def known_items(self) -> float:
        """Feed items not fetched because their page is already stored."""
        return self.extra.get("feed_items_known", 0.0)
