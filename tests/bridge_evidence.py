"""Made-up evidence about the Old Tanner Bridge for the rerankers' unit tests: one right
sentence (the firm that designed it) among two that repeat the question's words."""

from __future__ import annotations

from qa.types import Evidence

QUESTION = "Which firm designed the replacement bridge?"
TITLE = "Old Tanner Bridge"
SENTENCES = [
    "The council voted on Thursday evening to replace the bridge.",
    "The design was drawn up by the firm Carrow & Lisle Engineers.",
    "Traffic will be diverted for roughly 14 months.",
]


def bridge_evidence(n: int) -> list[Evidence]:
    """`n` records cycling through SENTENCES (numbered, so all differ), scores falling."""
    return [
        Evidence(
            article_id=f"a{i % 2}",
            sentence_index=i,
            sentence=SENTENCES[i % len(SENTENCES)] + f" ({i})",
            start=0,
            end=10,
            score=1.0 - 0.01 * i,
            title=TITLE,
            published=None,
            url="",
            source="",
        )
        for i in range(n)
    ]
