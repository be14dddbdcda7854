"""Publication dates from the many ways articles write them; numeric order is a setting."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dateutil import parser as dateparser

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_MAX_DATE_CHARS = 64


_YEAR_OR_MONTH = re.compile(
    r"\b(1[6-9]\d\d|2\d\d\d)\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.I
)


def parse_date(value: object, date_order: str = "dmy") -> datetime | None:
    """A timezone-aware datetime, or None when `value` holds no recognisable date.

    ISO strings are read as ISO whatever the order; "10/01/23" is 10 January with "dmy"
    and 1 October with "mdy". Naive times are taken as UTC so that comparisons work.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return None  # a JSON object or list is no date, whatever digits it holds
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text or len(text) > _MAX_DATE_CHARS:
        return None
    try:
        if _ISO.match(text):
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            parsed = dateparser.parse(text, dayfirst=(date_order == "dmy"), fuzzy=False)
    except (ValueError, OverflowError, TypeError):
        if not _YEAR_OR_MONTH.search(text):
            return None  # fuzzy parsing would make a date out of any lone number
        try:
            parsed = dateparser.parse(text, dayfirst=(date_order == "dmy"), fuzzy=True)
        except (ValueError, OverflowError, TypeError):
            return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes taken as UTC, so that any two dates compare."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of a date, or None."""
    return value.isoformat() if value else None


def day(value: datetime | None) -> str:
    """The calendar day shown next to a citation (e.g. 2023-01-10), or '' when undated."""
    return value.date().isoformat() if value else ""
