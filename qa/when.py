"""Dates in a cited sentence, resolved against its article's publication date.

News tells time relative to the day it was published: "on Thursday evening" in an article of
Friday 14 March 2025 is 13 March 2025, "last month" is February 2025. A reader checking a claim
needs the real date. Expressions are found by a small pattern (cheap: a sentence without a
weekday, month, year or relative word never reaches the parser) and resolved by dateparser with
the publication date as its relative base. Rules, chosen for news:

* a bare weekday ("Thursday", "on Thursday evening") is the most recent such day on or before
  the publication day; "next Thursday" is after it;
* a day and month or a month without a year ("29 March", "in October") is the occurrence
  nearest the publication day (a March article's "29 March" is this month's, its "October" the
  last one), or the next one when the sentence speaks of the future ("will", "would", "is due
  to", "scheduled": "a hearing will take place on 14 October");
* "last week/month/year", "this …", "next …", a month with its year and a year alone ("in 1923")
  are periods: `value` is (first day, last day);
* without a publication date, relative expressions resolve to None; absolute dates still do.

Only cited sentences are resolved, at answer time: a few per answer, never at ingest.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_PART = r"(?:\s+(?:morning|afternoon|evening|night))?"
_EXPRESSION = re.compile(
    "|".join(
        (
            r"\b\d{4}-\d{2}-\d{2}\b",
            rf"\b{_DAY}\s+{_MONTH}(?:\s+\d{{4}})?(?!\w)",
            rf"\b{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?\b",
            rf"\b(?:(?i:last|next|this)\s+)?{_WEEKDAY}{_PART}\b",
            r"\b(?i:yesterday|today|tonight|tomorrow|last night)\b",
            r"\b(?i:last|next|this)\s+(?i:week|month|year)\b",
            rf"\b{_MONTH}(?:\s+\d{{4}})?(?!\w)",
            r"\b(?i:in|since|until|during|before)\s+(?P<year>(?:1[5-9]|20)\d{2})\b",
        )
    )
)
_RELATIVE = re.compile(r"(?i)\b(last|next|this|yesterday|today|tonight|tomorrow)\b")
_HAS_YEAR = re.compile(r"\b\d{4}\b")
# A sentence about what is to come puts a day or month without a year after publication.
_FUTURE = re.compile(
    r"(?i)\b(will|would|shall|due to|scheduled|expected to|is to|are to|plans? to|set to)\b"
)

Value = str | tuple[str, str] | None


@dataclass(frozen=True)
class DateMention:
    """A date expression in a sentence: its text, offsets in the sentence, and its date."""

    text: str
    start: int
    end: int
    value: Value  # an ISO date, (first day, last day) for a week/month/year, or None

    def label(self) -> str:
        """`Thursday evening [13 Mar 2025]`, `last month [Feb 2025]`: as shown by a citation."""
        return f"{self.text} [{describe(self.value)}]"


def describe(value: Value) -> str:
    if value is None:
        return "date unknown"
    if isinstance(value, str):
        return _day(date.fromisoformat(value))
    first, last = (date.fromisoformat(v) for v in value)
    if first.month == 1 and first.day == 1 and (last.month, last.day) == (12, 31):
        return str(first.year) if first.year == last.year else f"{first.year}–{last.year}"
    if first.day == 1 and last == _month_end(first):
        return first.strftime("%b %Y")
    return f"{_day(first)} – {_day(last)}"


def _day(value: date) -> str:
    return f"{value.day} {value.strftime('%b %Y')}"


def _month_end(value: date) -> date:
    return value.replace(day=calendar.monthrange(value.year, value.month)[1])


@cache
def _parser(base: datetime, prefer: str) -> Any:
    from dateparser.date import DateDataParser

    settings = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": prefer,
        "RETURN_TIME_AS_PERIOD": True,
        "PREFER_DAY_OF_MONTH": "first",
    }
    return DateDataParser(languages=["en"], settings=settings)


def _parse(text: str, base: datetime, prefer: str) -> tuple[date, str] | None:
    data = _parser(base, prefer).get_date_data(text)
    if data.date_obj is None:
        return None
    return data.date_obj.date(), str(data.period or "day")


def _period(found: date, period: str, text: str) -> Value:
    if period == "year":
        return (date(found.year, 1, 1).isoformat(), date(found.year, 12, 31).isoformat())
    if period == "month":
        return (found.replace(day=1).isoformat(), _month_end(found).isoformat())
    if period == "week":
        monday = found - timedelta(days=found.weekday())
        return (monday.isoformat(), (monday + timedelta(days=6)).isoformat())
    return found.isoformat()


def resolve(
    text: str, published: datetime | date | None, ahead: bool = False, past: bool = False
) -> Value:
    """The date of one expression, relative to `published` (see the module's rules); `ahead`:
    its sentence speaks of the future, so a day or month without a year comes after; `past`:
    it comes before (a question about the news: "since January")."""
    core = re.sub(r"(?i)^(on|in|since|until|during|before)\s+", "", text.strip())
    relative = _RELATIVE.search(core) or not _HAS_YEAR.search(core)
    if published is None:
        if relative:
            return None
        base = datetime(2000, 1, 1)
    else:
        base = (
            published if isinstance(published, datetime) else datetime(*published.timetuple()[:3])
        )
        base = base.replace(tzinfo=None, hour=12, minute=0, second=0, microsecond=0)
    if re.fullmatch(r"\d{4}", core):
        return (f"{core}-01-01", f"{core}-12-31")
    weekday = re.search(_WEEKDAY, core)
    if weekday and not re.match(r"(?i)(next|this)\b", core):
        target = list(calendar.day_name).index(weekday.group(0))
        back = (base.weekday() - target) % 7  # the same day counts: "on Friday" in Friday's paper
        return (base.date() - timedelta(days=back)).isoformat()
    earlier = _parse(core, base, "past")
    if earlier is None:
        return None
    found, period = earlier
    if not _RELATIVE.search(core) and not _HAS_YEAR.search(core):  # "29 March", "October"
        future = _parse(core, base, "future")
        nearer = future and abs((future[0] - base.date()).days) < abs((found - base.date()).days)
        if future and not past and (ahead or nearer):
            found, period = future
    if period == "month" and re.search(r"\d", core.replace(str(found.year), "")):
        period = "day"  # "29 March 2025": a day, though its month and year are given
    return _period(found, "day" if period == "part_of_day" else period, core)


def date_mentions(
    sentence: str, published: datetime | date | None, past: bool = False
) -> tuple[DateMention, ...]:
    """Every date expression in `sentence`, resolved against its article's publication date
    (`past`: a day or month without a year is the last one, as in a question about news)."""
    found = []
    ahead = bool(_FUTURE.search(sentence))
    for match in _EXPRESSION.finditer(sentence):
        span = match.span("year") if match.group("year") else match.span()
        text = sentence[span[0] : span[1]]
        if text in ("May", "March") and not _month_context(sentence, match):
            continue  # "may" and "march" are also words
        found.append(DateMention(text, span[0], span[1], resolve(text, published, ahead, past)))
    return tuple(found)


def _month_context(sentence: str, match: re.Match[str]) -> bool:
    before = sentence[: match.start()].rstrip().lower()
    return before.endswith(("in", "since", "until", "of", "by", "from", "during", "early", "late"))
