"""Metadata filters that reach the retrieval itself (Chroma `where` and the BM25 article set)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vectorstore.dates import parse_date
from vectorstore.errors import CiteqaError


class FilterError(ValueError, CiteqaError):
    pass


@dataclass(frozen=True)
class Filters:
    articles: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None

    @classmethod
    def build(
        cls,
        articles: Any = None,
        since: Any = None,
        until: Any = None,
        source: str | None = None,
        date_order: str = "dmy",
    ) -> Filters:
        """Validate user values early; the message names the bad value."""

        def when(name: str, value: Any, end_of_day: bool) -> datetime | None:
            if value in (None, ""):
                return None
            parsed = value if isinstance(value, datetime) else parse_date(value, date_order)
            if parsed is None:
                raise FilterError(f"--{name}: {value!r} is not a date (try 2023-01-10)")
            if end_of_day and isinstance(value, str) and ":" not in value:
                parsed = parsed.replace(hour=23, minute=59, second=59)
            return parsed

        if isinstance(articles, str):
            articles = (articles,)
        built = cls(
            tuple(articles or ()),
            when("since", since, False),
            when("until", until, True),
            source or None,
        )
        if built.since and built.until and built.since > built.until:
            raise FilterError(f"--since {since} is after --until {until}")
        return built

    @property
    def empty(self) -> bool:
        return not (self.articles or self.since or self.until or self.source)

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.articles:
            clauses.append({"article_id": {"$in": list(self.articles)}})
        if self.since:
            clauses.append({"published_ts": {"$gte": int(self.since.timestamp())}})
        if self.until:
            clauses.append({"published_ts": {"$lte": int(self.until.timestamp())}})
            if not self.since:
                clauses.append({"published_ts": {"$gte": 0}})
        if self.source:
            clauses.append({"source": self.source})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
