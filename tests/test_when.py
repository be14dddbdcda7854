"""Dates in cited sentences, resolved against the article's publication date (qa/when.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from qa.types import Answer, Evidence, citation_from
from qa.when import DateMention, date_mentions, describe, resolve

FRIDAY = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)  # Friday 14 March 2025


def resolved(sentence: str, published=FRIDAY) -> dict[str, object]:
    return {m.text: m.value for m in date_mentions(sentence, published)}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Councillors voted on Thursday evening.", {"Thursday evening": "2025-03-13"}),
        ("The council meets on Friday.", {"Friday": "2025-03-14"}),  # the day of the paper
        ("It rained on Monday.", {"Monday": "2025-03-10"}),
        ("They meet next Thursday.", {"next Thursday": "2025-03-20"}),
        ("Prices rose last month.", {"last month": ("2025-02-01", "2025-02-28")}),
        ("It will reopen next year.", {"next year": ("2026-01-01", "2026-12-31")}),
        ("It happened last week.", {"last week": ("2025-03-03", "2025-03-09")}),
        ("He was arrested yesterday.", {"yesterday": "2025-03-13"}),
        # a day and month without a year: the nearest occurrence, or the next one when the
        # sentence speaks of the future
        ("The report came out on 29 March.", {"29 March": "2025-03-29"}),
        ("The bridge has been closed since October.", {"October": ("2024-10-01", "2024-10-31")}),
        ("A hearing will take place on 14 October.", {"14 October": "2025-10-14"}),
        # absolute dates stay as they are
        ("Work begins in September 2025.", {"September 2025": ("2025-09-01", "2025-09-30")}),
        ("It was built in 1923.", {"1923": ("1923-01-01", "1923-12-31")}),
        ("It opened on March 3, 2021.", {"March 3, 2021": "2021-03-03"}),
        ("Published 2024-11-09.", {"2024-11-09": "2024-11-09"}),
        # "may" and "march" are words too
        ("Officials may march on the hall.", {}),
        ("No date here at all.", {}),
    ],
)
def test_expressions_resolve_against_the_publication_date(sentence, expected):
    assert resolved(sentence) == expected


@pytest.mark.unit
def test_offsets_point_at_the_expression():
    sentence = "Councillors voted on Thursday evening, after last month's survey."
    for mention in date_mentions(sentence, FRIDAY):
        assert sentence[mention.start : mention.end] == mention.text
    assert [m.text for m in date_mentions(sentence, FRIDAY)] == ["Thursday evening", "last month"]


@pytest.mark.unit
def test_without_a_publication_date_only_absolute_dates_resolve():
    assert resolved("On Thursday, as in 1998.", None) == {
        "Thursday": None,
        "1998": ("1998-01-01", "1998-12-31"),
    }
    assert resolve("last month", None) is None
    assert resolve("Thursday", date(2025, 3, 14)) == "2025-03-13"  # a date works as well


@pytest.mark.unit
def test_labels_say_the_real_date():
    assert DateMention("Thursday", 0, 8, "2025-03-13").label() == "Thursday [13 Mar 2025]"
    assert describe(("2025-02-01", "2025-02-28")) == "Feb 2025"
    assert describe(("1923-01-01", "1923-12-31")) == "1923"
    assert describe(("2025-03-03", "2025-03-09")) == "3 Mar 2025 – 9 Mar 2025"
    assert describe(None) == "date unknown"


def _evidence(sentence: str, published: datetime | None) -> Evidence:
    return Evidence("a1", 0, sentence, 0, len(sentence), 1.0, "Title", published, "", "Post")


@pytest.mark.unit
def test_citations_carry_their_dates_into_footnotes_and_json():
    citation = citation_from(_evidence("The council voted on Thursday evening.", FRIDAY), 1)
    assert citation.dates == (DateMention("Thursday evening", 21, 37, "2025-03-13"),)
    assert citation.footnote().endswith("· Thursday evening [13 Mar 2025]")
    answer = Answer("q", "The council voted on Thursday evening. [1]", (citation,), False)
    data = json.loads(json.dumps(answer.to_dict()))
    assert data["citations"][0]["dates"] == [
        {"text": "Thursday evening", "start": 21, "end": 37, "value": "2025-03-13"}
    ]
    undated = citation_from(_evidence("Nothing dated.", None), 1)
    assert undated.dates == () and "·" not in undated.footnote()


@pytest.mark.unit
def test_the_sources_panel_shows_the_resolved_dates():
    from ui.render import sources_html

    sentence = "Prices rose last month <b>sharply</b>."
    citation = citation_from(_evidence(sentence, FRIDAY), 1)
    shown = sources_html(Answer("q", f"{sentence} [1]", (citation,), False), None)
    assert "Dates: last month [Feb 2025]" in shown
    assert "<b>" not in shown
