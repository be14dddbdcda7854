"""Time in a question becomes a publication-date filter: "What did the council decide in March
2025?", "What happened last week?", "since January".

The question's date expressions are found and resolved as in cited sentences (qa/when.py), with
today (or `as_of`) as the base. A period ("in March 2025", "last week", "this year", "in 2024")
filters to articles published within it; "since X" from its first day on; "before X" until the
day before it; a single day ("on Thursday", "yesterday") to that day and the two after it, since
news of a day is published the day after. The expression is taken out of the search query: the
filter already says it, and "March" is not a word the answer needs to contain.

A question about history inside the articles ("What happened in 1998?") must still find them:
when no stored article was published in the period, the question is searched unfiltered
(`QuestionTime.applied` is False and the answer's `filters` says why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from qa.when import date_mentions

# a day's news is published that day or the next two
DAY_SLACK = timedelta(days=2)
_SINCE = re.compile(r"(?i)\b(since|from|after)\s+$")
_BEFORE = re.compile(r"(?i)\b(before|until|till|up to)\s+$")
_LEADING = re.compile(r"(?i)\b(in|on|during|since|from|after|before|until|till|up to|of)\s+$")


@dataclass(frozen=True)
class QuestionTime:
    """The time a question asks about, as a publication-date range."""

    text: str  # the expression in the question ("in March 2025")
    since: datetime | None
    until: datetime | None
    query: str  # the question without the expression, for the search

    def as_dict(self, applied: bool) -> dict[str, str]:
        out = {"from_question": self.text}
        if self.since:
            out["since"] = self.since.date().isoformat()
        if self.until:
            out["until"] = self.until.date().isoformat()
        if not applied:
            out["note"] = "no article was published then: searched all dates"
        return out


def question_time(question: str, as_of: date | datetime | None = None) -> QuestionTime | None:
    """The first date expression of the question that resolves, as a range; None without one."""
    today = as_of or date.today()
    for mention in date_mentions(question, today, past=True):
        if mention.value is None:
            continue
        first, last = (
            (mention.value, mention.value) if isinstance(mention.value, str) else mention.value
        )
        start, end = date.fromisoformat(first), date.fromisoformat(last)
        if first == last:
            end = start + DAY_SLACK
        before = question[: mention.start]
        lead = _LEADING.search(before)
        begin = lead.start() if lead else mention.start
        since: datetime | None = datetime(start.year, start.month, start.day)
        until: datetime | None = datetime(end.year, end.month, end.day, 23, 59, 59)
        if _SINCE.search(before):
            until = None
        elif _BEFORE.search(before):
            since, until = None, datetime(start.year, start.month, start.day) - timedelta(seconds=1)
        query = " ".join(f"{question[:begin]} {question[mention.end :]}".split())
        query = re.sub(r"\s+([?.!,])", r"\1", query)
        return QuestionTime(question[begin : mention.end], since, until, query or question)
    return None
