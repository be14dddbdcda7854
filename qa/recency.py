"""Recency where the question asks for it: "latest", "now", "currently", "most recent".

News about the same thing changes; a question that asks for the current state wants the newest
article's sentence among comparable evidence. The evidence is reordered by score plus a bonus
growing with the article's publication date among the evidence's articles, at most
RECENCY_BONUS: enough to reorder sentences that score alike, not to put an unrelated newer
sentence first. Questions that do not ask for recency are left alone (no recency bias).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from qa.types import Evidence

RECENCY_BONUS = 0.1
_ASKS_RECENT = re.compile(
    r"(?i)\b(latest|newest|most recent(ly)?|currently|current|now|nowadays|these days|"
    r"as of today|to date|so far)\b"
)


def asks_for_recent(question: str) -> bool:
    return bool(_ASKS_RECENT.search(question))


def prefer_recent(question: str, evidence: Sequence[Evidence]) -> tuple[Evidence, ...]:
    """The evidence reordered newer-first among comparable scores, when the question asks."""
    if not asks_for_recent(question):
        return tuple(evidence)
    dated = [e.published.timestamp() for e in evidence if isinstance(e.published, datetime)]
    if len(set(dated)) < 2:
        return tuple(evidence)
    oldest, newest = min(dated), max(dated)

    def bonus(e: Evidence) -> float:
        if not isinstance(e.published, datetime):
            return 0.0
        return RECENCY_BONUS * (e.published.timestamp() - oldest) / (newest - oldest)

    rescored = [replace(e, score=e.score + bonus(e)) for e in evidence]
    return tuple(sorted(rescored, key=lambda e: -e.score))
