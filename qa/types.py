"""What answering produces: evidence sentences, citations and the answer itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from qa.when import DateMention, date_mentions
from vectorstore.dates import day

ABSTAIN_TEXT = "I could not find this in the articles."
EMPTY_STORE_TEXT = "No articles ingested yet: add some with `citeqa ingest PATH`."


@dataclass(frozen=True)
class Evidence:
    """A stored sentence ranked for a question, with what is needed to cite and show it."""

    article_id: str
    sentence_index: int
    sentence: str
    start: int
    end: int
    score: float
    title: str
    published: datetime | None
    url: str
    source: str
    paragraph: int = 0
    chunk: int = 0


@dataclass(frozen=True)
class AlsoIn:
    """Another stored article holding the same (or near-same) sentence (qa/reports.py)."""

    article_id: str
    title: str
    source: str
    published: datetime | date | None


@dataclass(frozen=True)
class Citation:
    """`[n]` in an answer: always a sentence that exists verbatim at text[start:end]."""

    n: int
    article_id: str
    title: str
    published: datetime | date | None
    url: str
    sentence_index: int
    sentence: str
    start: int
    end: int
    score: float
    source: str = ""
    # the sentence's date expressions resolved against the article's date (qa/when.py)
    dates: tuple[DateMention, ...] = ()
    also_in: tuple[AlsoIn, ...] = ()  # other articles with the same wording: wire copies
    corrected_by: int = 0  # the [n] of a later correction of this sentence's claim (or 0)

    def footnote(self) -> str:
        """`[1] Title (Source, 2025-03-14) — "the sentence"`: where and when it was said, then
        the sentence's own dates resolved ("Thursday evening [13 Mar 2025]")."""
        published = self.published
        when = day(published) if isinstance(published, datetime) else ""
        if isinstance(published, date) and not isinstance(published, datetime):
            when = published.isoformat()
        about = ", ".join(part for part in (self.source, when) if part)
        dated = f" · {'; '.join(m.label() for m in self.dates)}" if self.dates else ""
        return (
            f'[{self.n}] {self.title}{f" ({about})" if about else ""} — "{self.sentence}"{dated}'
            + self.also_reported()
            + (f" · corrected later, see [{self.corrected_by}]" if self.corrected_by else "")
        )

    def also_reported(self) -> str:
        """` · also reported by 2 sources: Valley Wire, Harrowgate Herald` (or "")."""
        if not self.also_in:
            return ""
        names = list(dict.fromkeys(a.source or a.title for a in self.also_in))
        count = len(self.also_in)
        return f" · also reported by {count} source{'s' if count > 1 else ''}: {', '.join(names)}"


@dataclass(frozen=True)
class Answer:
    """An answer whose every [n] resolves to exactly one citation."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    mode: str = "extractive"
    search_query: str = ""
    # the publication-date filter the question's own time set ("in March 2025"): since, until,
    # from_question, and a note when no article fell in it (qa/question_time.py)
    filters: dict[str, str] = field(default_factory=dict)
    disagreement: bool = False  # the best sources give different figures (both cited)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item in (*data["citations"], *data["evidence"]):
            value = item.get("published")
            item["published"] = value.isoformat() if value else None
            for other in item.get("also_in", ()):
                when = other.get("published")
                other["published"] = when.isoformat() if when else None
        return data


def citation_from(evidence: Evidence, n: int) -> Citation:
    return Citation(
        n=n,
        article_id=evidence.article_id,
        title=evidence.title,
        published=evidence.published,
        url=evidence.url,
        sentence_index=evidence.sentence_index,
        sentence=evidence.sentence,
        start=evidence.start,
        end=evidence.end,
        score=round(evidence.score, 4),
        source=evidence.source,
        dates=date_mentions(evidence.sentence, evidence.published),
    )
