"""Time in a question becomes a publication-date filter (qa/question_time.py, Assistant)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from qa.options import AskOptions, OptionError
from qa.question_time import question_time

TODAY = date(2025, 3, 20)  # a Thursday
CUP_FINAL = "Kestrel Vale Rovers win Northfold Cup on penalties"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "text", "since", "until", "query"),
    [
        (
            "What did the council decide in March 2025?",
            "in March 2025",
            datetime(2025, 3, 1),
            datetime(2025, 3, 31, 23, 59, 59),
            "What did the council decide?",
        ),
        (
            "What happened last week?",
            "last week",
            datetime(2025, 3, 10),
            datetime(2025, 3, 16, 23, 59, 59),
            "What happened?",
        ),
        ("What has changed since January?", "since January", datetime(2025, 1, 1), None, None),
        # "since October" in March is last October: a question asks about what has happened
        ("Who has complained since October?", "since October", datetime(2024, 10, 1), None, None),
        (
            "What happened before October 2024?",
            "before October 2024",
            None,
            datetime(2024, 9, 30, 23, 59, 59),
            None,
        ),
        # a day's news is published that day or the two after
        (
            "What did they decide yesterday?",
            "yesterday",
            datetime(2025, 3, 19),
            datetime(2025, 3, 21, 23, 59, 59),
            None,
        ),
    ],
)
def test_time_in_the_question(question, text, since, until, query):
    asked = question_time(question, TODAY)
    assert asked is not None
    assert (asked.text, asked.since, asked.until) == (text, since, until)
    if query:
        assert asked.query == query
    assert text not in asked.query


@pytest.mark.unit
@pytest.mark.parametrize(
    "question",
    [
        "How much will the new bridge cost?",
        "Who won the 2024 mayoral election?",  # a year as a name, not a time asked about
        "May the council change its mind?",
    ],
)
def test_no_time_in_the_question(question):
    assert question_time(question, TODAY) is None


@pytest.mark.unit
def test_as_of_is_checked():
    assert AskOptions.build({"as_of": "2025-03-20"}).as_of == TODAY
    with pytest.raises(OptionError, match="as_of"):
        AskOptions.build({"as_of": "someday"})


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder) -> Iterator:
    from tests.store_invariants import samples_assistant

    yield from samples_assistant(embedder, tmp_path_factory.mktemp("question-time") / "home")


@pytest.mark.integration
def test_the_question_s_time_filters_and_is_recorded(assistant):
    answer = assistant.ask("What did Marrowby council decide about the bridge in March 2025?")
    assert answer.filters == {
        "from_question": "in March 2025",
        "since": "2025-03-01",
        "until": "2025-03-31",
    }
    assert not answer.abstained
    assert all(c.published.date().isoformat().startswith("2025-03") for c in answer.citations)
    # the same question about a week of the football final: only that week's article answers
    cup = assistant.ask("Who saved the penalties last week?", as_of="2024-11-14")
    assert cup.filters["since"] == "2024-11-04" and cup.filters["until"] == "2024-11-10"
    assert {c.title for c in cup.citations} == {CUP_FINAL}
    # asked in a week when only the rowing club story was published: not the cup final
    elsewhere = assistant.ask("Who saved the penalties last week?", as_of="2024-07-29")
    assert elsewhere.filters["since"] == "2024-07-22" and "note" not in elsewhere.filters
    assert all(c.title != CUP_FINAL for c in elsewhere.citations)


@pytest.mark.integration
def test_no_article_then_searches_all_dates(assistant):
    answer = assistant.ask("How much rain fell at Hollin Moor in 1998?")
    assert answer.filters["from_question"] == "in 1998"
    assert "note" in answer.filters and "since" in answer.filters
    assert not answer.abstained
    assert "98.4 millimetres" in answer.citations[0].sentence


@pytest.mark.integration
def test_explicit_since_until_win(assistant):
    answer = assistant.ask(
        "How much rain fell at Hollin Moor last week?",
        since="2024-01-01",
        until="2024-12-31",
        as_of="2025-03-20",
    )
    assert answer.filters == {"since": "2024-01-01", "until": "2024-12-31"}
    assert "98.4 millimetres" in answer.citations[0].sentence
