"""Newer articles first among comparable evidence, only when the question asks (qa/recency.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from qa.recency import RECENCY_BONUS, asks_for_recent, prefer_recent
from qa.types import Evidence


def ev(article: str, score: float, published: datetime | None) -> Evidence:
    sentence = f"The toll in {article} is set."
    return Evidence(article, 0, sentence, 0, len(sentence), score, article, published, "", "")


OLD = ev("old", 0.80, datetime(2024, 1, 5, tzinfo=UTC))
NEW = ev("new", 0.78, datetime(2025, 6, 1, tzinfo=UTC))
FAR = ev("far", 0.40, datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("What is the latest toll?", True),
        ("What is the toll now?", True),
        ("Who currently runs the bridge?", True),
        ("What is the most recent figure?", True),
        ("What was the toll?", False),
        ("When did the bridge open?", False),
    ],
)
def test_asks_for_recent(question, asks):
    assert asks_for_recent(question) is asks


@pytest.mark.unit
def test_newer_first_among_comparable_scores_only_when_asked():
    assert [e.article_id for e in prefer_recent("What was the toll?", [OLD, NEW, FAR])] == [
        "old",
        "new",
        "far",
    ]
    latest = prefer_recent("What is the latest toll?", [OLD, NEW, FAR])
    assert [e.article_id for e in latest] == ["new", "old", "far"]  # far scores too low
    assert latest[0].score <= NEW.score + RECENCY_BONUS


@pytest.mark.unit
def test_undated_or_single_date_evidence_is_left_alone():
    undated = [ev("a", 0.8, None), ev("b", 0.79, None)]
    assert prefer_recent("What is the latest toll?", undated) == tuple(undated)


@pytest.mark.integration
def test_the_latest_report_answers_a_latest_question(tmp_path, embedder):
    from qa import Assistant
    from tests.store_invariants import share_model

    articles = tmp_path / "tolls.jsonl"
    rows = [
        {
            "title": "Harbour bridge toll set",
            "published": "2024-01-05",
            "source": "Gazette",
            "text": "The harbour bridge toll for cars is £2.40, the port authority said.",
        },
        {
            "title": "Harbour bridge toll rises",
            "published": "2025-06-01",
            "source": "Ledger",
            "text": "The harbour bridge toll for cars is £2.90 from Monday, the authority said.",
        },
    ]
    articles.write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    with pytest.MonkeyPatch.context() as patch:
        share_model(patch, embedder)
        assistant = Assistant(home=tmp_path / "home")
    with assistant:
        assert not assistant.ingest([articles]).failed
        latest = assistant.ask("What is the latest harbour bridge toll for cars?")
        assert "£2.90" in latest.citations[0].sentence
        # without the word, the older report's closer wording wins: the reordering did it
        plain = assistant.ask("What is the harbour bridge toll for cars?")
        assert "£2.40" in plain.citations[0].sentence
