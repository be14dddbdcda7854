"""Timeline answers: the relevant cited sentences in date order, newest last (qa/timeline.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.options import AskOptions, OptionError
from qa.timeline import asks_for_timeline, timeline_answer, timeline_day, timeline_subject
from qa.types import Evidence

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "articles"


def ev(article: str, sentence: str, score: float, published: datetime | None) -> Evidence:
    return Evidence(article, 0, sentence, 0, len(sentence), score, article, published, "", "Post")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("question", "asks", "subject"),
    [
        ("How did the bridge closure develop?", True, "the bridge closure"),
        ("Timeline of Storm Corvin", True, "Storm Corvin"),
        ("Give me a timeline of the Helix funding.", True, "the Helix funding"),
        ("How did Storm Corvin unfold?", True, "Storm Corvin"),
        ("How much did the bridge cost?", False, "How much did the bridge cost?"),
    ],
)
def test_timeline_questions(question, asks, subject):
    assert asks_for_timeline(question) is asks
    assert timeline_subject(question) == subject


@pytest.mark.unit
def test_sentences_in_the_order_of_their_own_dates():
    march = datetime(2025, 3, 14, tzinfo=UTC)  # a Friday
    evidence = [
        ev("a", "Work will finish in June 2027.", 1.0, march),
        ev("b", "The council voted on Thursday.", 0.9, march),
        ev("c", "It opened in January 2024, beating the 2012 record.", 0.8, march),
        ev("d", "Traders are worried.", 0.7, datetime(2025, 4, 2, tzinfo=UTC)),
        ev("e", "Nobody knows when.", 0.6, None),
        ev("f", "An unrelated sentence.", 0.2, march),  # below the share of the best
    ]
    text, citations = timeline_answer(evidence, k=8)
    assert [c.article_id for c in citations] == ["c", "b", "d", "a", "e"]
    assert [c.n for c in citations] == [1, 2, 3, 4, 5]
    lines = text.splitlines()
    assert lines[0].startswith("Jan 2024 (Post): It opened in January 2024, beating the 2012")
    assert lines[1].startswith("13 Mar 2025 (Post): The council voted")
    assert lines[3].startswith("Jun 2027")
    assert lines[4].startswith("undated")
    assert timeline_answer(evidence, k=2)[1][0].article_id == "b"  # the best two, in order
    assert timeline_answer([], k=3) == ("", ())


@pytest.mark.unit
def test_timeline_is_a_mode():
    assert AskOptions.build({"mode": "timeline"}).mode == "timeline"
    with pytest.raises(OptionError, match="timeline"):
        AskOptions.build({"mode": "chronicle"})


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder) -> Iterator:
    from tests.store_invariants import samples_assistant

    yield from samples_assistant(embedder, tmp_path_factory.mktemp("timeline") / "home")


@pytest.mark.integration
def test_a_timeline_question_is_answered_in_date_order(assistant):
    answer = assistant.ask("How did the Old Tanner Bridge story develop?")
    assert answer.mode == "timeline" and not answer.abstained
    assert len(answer.citations) >= 3
    days = [timeline_day(c)[0] for c in answer.citations]
    assert days == sorted(days)
    assert answer.text.count("\n") == len(answer.citations) - 1
    plain = assistant.ask("How much will the new bridge cost?")
    assert plain.mode == "extractive" and len(plain.citations) == 1


@pytest.mark.integration
def test_cli_timeline_flag(tmp_path):
    from ui.cli import main

    runner = CliRunner()
    home = str(tmp_path / "home")
    assert runner.invoke(main, ["--home", home, "ingest", "--quiet", str(SAMPLES)]).exit_code == 0
    done = runner.invoke(main, ["--home", home, "ask", "Storm Corvin flooding", "--timeline"])
    assert done.exit_code == 0, done.output
    lines = [line for line in done.output.splitlines() if line and not line.startswith("[")]
    assert len(lines) >= 2 and lines[0].startswith("18 Feb 2024 (Westmarch Evening Post):")
    assert all(line.startswith(("18 Feb 2024", "19 Feb 2024")) for line in lines)
