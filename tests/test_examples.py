"""Example questions (issue 16, item 5): drawn from the stored articles, each one asked and
answered with a citation into the article it came from; bounded and cached per store state."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    from qa.assistant import Assistant

    home = tmp_path_factory.mktemp("examples") / "home"
    with Assistant(home=home) as assistant:
        report = assistant.ingest([SAMPLES])
        assert not report.failed
        yield assistant


@pytest.mark.integration
def test_every_example_is_answered_with_a_citation(assistant):
    from ui.examples import example_questions

    examples = example_questions(assistant, limit=4)
    assert len(examples) >= 3
    titles = {a.id: a.title for a in assistant.articles()}
    for question in examples:
        assert not question.startswith("What happened:")
        answer = assistant.ask(question)
        assert not answer.abstained, question
        assert answer.citations and "[1]" in answer.text, question
        assert all(c.article_id in titles for c in answer.citations)
    assert len({q.split()[-1] for q in examples}) == len(examples)  # not one template filled 4x


@pytest.mark.integration
def test_examples_are_bounded_and_cached_per_store_state(assistant, tmp_path, monkeypatch):
    from ui import examples as module

    module._cache.clear()
    asked: list[str] = []
    ask = assistant.ask

    def counting(question, history=None, **options):
        asked.append(question)
        return ask(question, history, **options)

    monkeypatch.setattr(assistant, "ask", counting)
    first = module.example_questions(assistant, limit=4, max_asks=12)
    assert 0 < len(asked) <= 12
    asked.clear()
    assert module.example_questions(assistant, limit=4, max_asks=12) == first
    assert asked == []  # same store state: nothing asked again
    extra = tmp_path / "orrin.json"
    extra.write_text(
        json.dumps(
            {
                "title": "Orrin ferry adds a dawn crossing",
                "text": "The Orrin ferry adds a dawn crossing at six from May. "
                "Tickets for the Orrin ferry cost four crowns.",
            }
        )
    )
    assistant.ingest([extra])
    module.example_questions(assistant, limit=4, max_asks=12)
    assert asked  # a new article: asked afresh
    assert len(asked) <= 12


@pytest.mark.unit
def test_candidates_come_from_title_and_lead():
    from ui.examples import candidates, headline_question, names

    assert headline_question("Storm Corvin brings record rainfall to Westmarch") == (
        "What did Storm Corvin bring?"
    )
    assert headline_question("Kestrel Vale Rovers win Northfold Cup on penalties") == (
        "What did Kestrel Vale Rovers win?"
    )
    assert headline_question("Marrowby researchers find algae") == (
        "What did Marrowby researchers find?"
    )
    assert headline_question("<svg onload=alert(1)> reopens hall") is None
    assert names("Councillors voted to replace the Old Tanner Bridge on Thursday.") == [
        "Old Tanner Bridge",
        "Councillors",
    ]
    found = candidates("Storm Corvin brings rain", "Storm Corvin swept across Westmarch.")
    assert found[0] == "What did Storm Corvin bring?"
    assert all(len(q) <= 120 and q.endswith("?") for q in found)
