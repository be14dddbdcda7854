"""Timeline answers: "How did X develop?", "timeline of X", `ask(..., mode="timeline")`.

A story told over weeks is read in date order. The relevant evidence sentences (those scoring
at least TIMELINE_SHARE of the best, at most k) are cited in the order of their own date — the
first date expression of the sentence resolved against its article's date (qa/when.py), else
the article's publication date — newest last; each line opens with that date. A bare year does
not date a sentence: "breaking the record set in 2012" happened when the article says, not in
2012. Sentences with
no date at all come last, in score order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from qa.extractive import quoted
from qa.types import Citation, Evidence, citation_from
from qa.when import describe

TIMELINE_SHARE = 0.35  # of the best score: sentences below it are about something else
_ASKS_TIMELINE = re.compile(
    r"(?i)\b(timeline|chronology|how did .+ (develop|unfold|evolve|progress|change)|"
    r"what happened (to|with) .+ over time|sequence of events|in (date|chronological) order)\b"
)


_BARE_YEAR = re.compile(r"\d{4}")


def asks_for_timeline(question: str) -> bool:
    return bool(_ASKS_TIMELINE.search(question))


_SUBJECT = re.compile(
    r"(?i)^\W*(?:(?:give me |show me |what is |what's )?(?:a |the )?(?:timeline|chronology) of"
    r"|how did)\s+(?P<subject>.+?)(?:\s+(?:develop|unfold|evolve|progress|change)\w*)?\W*$"
)


def timeline_subject(question: str) -> str:
    """What a timeline question is about, to search with: "How did the bridge closure
    develop?" → "the bridge closure" (the asking words match no sentence)."""
    found = _SUBJECT.match(question)
    return found.group("subject") if found else question


def timeline_day(citation: Citation) -> tuple[date | None, str]:
    """The date a cited sentence is about, and how it is shown."""
    for mention in citation.dates:
        if mention.value is not None and not _BARE_YEAR.fullmatch(mention.text):
            first = mention.value if isinstance(mention.value, str) else mention.value[0]
            return date.fromisoformat(first), describe(mention.value)
    published = citation.published
    if isinstance(published, datetime):
        published = published.date()
    if isinstance(published, date):
        return published, describe(published.isoformat())
    return None, "undated"


def timeline_answer(evidence: Sequence[Evidence], k: int) -> tuple[str, tuple[Citation, ...]]:
    """The answer text (one dated line per sentence, oldest first) and its citations."""
    if not evidence:
        return "", ()
    floor = TIMELINE_SHARE * max(e.score for e in evidence)
    chosen = [e for e in evidence if e.score >= floor][:k]
    dated = [(timeline_day(citation_from(e, 0)), position, e) for position, e in enumerate(chosen)]
    dated.sort(key=lambda item: (item[0][0] is None, item[0][0] or date.min, item[1]))
    citations: list[Citation] = []
    lines: list[str] = []
    for n, ((_, shown), _, e) in enumerate(dated, start=1):
        citation = citation_from(e, n)
        citations.append(citation)
        source = f" ({citation.source})" if citation.source else ""
        lines.append(f"{shown}{source}: {quoted(citation.sentence)} [{n}]")
    return "\n".join(lines), tuple(citations)
