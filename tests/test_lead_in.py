"""Lead-ins ("Board chair Imogen Rask said:") are never cited on their own: at ingest an
announcing paragraph goes on the quote that follows it, and the evidence skips any short
sentence ending in a colon that is left ("It listed three causes:")."""

from __future__ import annotations

import pytest

from qa.search.evidence import is_lead_in
from vectorstore.cleaning import clean_text

ARTICLE = """Harbour board sets out plans for the Quayside ferry terminal
Published: 2025-03-04

The harbour board met on Monday to discuss the future of the Quayside ferry terminal.

Board chair Imogen Rask said:

"The terminal will close for repairs in June and reopen in September with two new berths."

The board's report on the winter flooding of the terminal car park was also published.

It listed three causes:

Heavy rain, blocked storm drains and an unusually high spring tide.

Ferry operators said they would run a reduced timetable from the Northgate pier meanwhile.
"""


@pytest.mark.unit
@pytest.mark.parametrize(
    ("sentence", "lead_in"),
    [
        ("Stoltenberg said:", True),
        ("  Board chair Imogen Rask said:  ", True),
        ("It listed three causes:", True),
        ("Stoltenberg said the alliance would meet again.", False),
        ("Stoltenberg said: the alliance would meet again.", False),
        ("The areas where cooperation will be increased are listed as follows:", False),
        ("", False),
    ],
)
def test_is_lead_in(sentence, lead_in):
    assert is_lead_in(sentence) is lead_in


@pytest.mark.unit
def test_an_announcement_goes_on_the_quote_it_announces():
    body = clean_text(ARTICLE).body.split("\n\n")
    assert 'Board chair Imogen Rask said: "The terminal will close for repairs' in body[1]
    assert "It listed three causes:" in body  # no one speaks: left as it is
    quoted = clean_text(
        'The minister spoke at length. Speaking to reporters, she said:\n\n"We will act."'
    ).body
    assert quoted == 'The minister spoke at length. Speaking to reporters, she said: "We will act."'


@pytest.mark.unit
@pytest.mark.parametrize(
    "text",
    [
        "Key facts:\n\nThe dam holds 40 million cubic metres of water.",  # no one speaks
        # a long closing sentence that mentions a speaker is no announcement
        "The council said it would publish the full list of roads affected by the closure next "
        "week, along with these:\n\nThe detours begin on Monday.",
        'The minister said:\n\n"We will act."\n\nSaid:',  # the last one has nothing after it
    ],
)
def test_other_colons_keep_their_paragraphs(text):
    body = clean_text(f"A title line\n\n{text}").body
    assert body.count("\n\n") == text.count("\n\n") - ("minister" in text)


@pytest.mark.integration
def test_the_quote_is_cited_with_its_speaker_and_never_a_lead_in(tmp_path, embedder):
    from tests.store_invariants import assistant_with

    article = tmp_path / "harbour.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    with assistant_with(embedder, tmp_path / "home") as built:
        assert not built.ingest([article]).failed
        said = built.ask("What did board chair Imogen Rask say about the Quayside ferry terminal?")
        assert said.citations[0].sentence.startswith("Board chair Imogen Rask said:")
        assert "reopen in September" in said.citations[0].sentence
        # the lead-in no one speaks is stored and ranked; the evidence leaves it out
        question = "What causes did the report on the flooding list?"
        result = built.searcher.search(question, k=10)
        rows = built.store.sentence_rows([r.features.key for r in result.ranked])
        text = built.store.text(result.evidence[0].article_id) or ""
        ranked = [
            text[rows[r.features.key].start : rows[r.features.key].end] for r in result.ranked
        ]
        assert "It listed three causes:" in ranked
        assert not any(is_lead_in(e.sentence) for e in result.evidence)
        causes = built.ask(question)
        assert not any(is_lead_in(c.sentence) for c in causes.citations)
        history = [("What did the board publish about the car park?", "")]
        follow = built.ask("What did it list?", history)
        assert not any(is_lead_in(c.sentence) for c in follow.citations)
