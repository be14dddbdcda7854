"""Correction notes recognised at ingest: "Correction: an earlier version of this article said
the dam was built in 1958." The store keeps each note's wrong claim in a table, so an answer
checks every stored note against its cited sentence (qa/corrections.py) instead of hoping the
note is among the few sentences a BM25 lookup of that sentence returns — at 100 k articles a
wire copy repeated a dozen times pushes the note out of any short list.
"""

from __future__ import annotations

import re

_NOTE = re.compile(r"^\W*(correction|clarification|editor'?s note)\s*[:—–-]", re.IGNORECASE)
_EARLIER = re.compile(
    r"\ban? (earlier|previous|original) version of this (article|story|report)\s+"
    r"(wrongly |incorrectly |mistakenly )?(said|stated|reported|gave|misstated)\s+(that\s+)?"
    r"(?P<claim>[^.!?]+)",
    re.IGNORECASE,
)
MARKER = "version of this"  # every note with a claim holds it (a cheap scan of older stores)


def is_correction(sentence: str) -> bool:
    return bool(_NOTE.search(sentence) or _EARLIER.search(sentence))


def wrong_claim(sentence: str) -> str | None:
    """What an earlier version said, per the note ("the Oriel Dam was built in 1958")."""
    found = _EARLIER.search(sentence)
    return found.group("claim").strip() if found else None
