"""Unit tests for qa.checked: citation checking of (streamed) LLM replies."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from qa.checked import (
    CheckedSentence,
    ReplyChecker,
    best_support,
    check_sentence,
    is_abstention,
    render,
    stream_checked,
)
from qa.types import ABSTAIN_TEXT, Evidence

pytestmark = pytest.mark.unit


def ev(n: int, sentence: str, score: float) -> Evidence:
    return Evidence(
        article_id=f"art{n}",
        sentence_index=n,
        sentence=sentence,
        start=10 * n,
        end=10 * n + len(sentence),
        score=score,
        title=f"Title {n}",
        published=datetime(2024, 1, n + 1, tzinfo=UTC),
        url=f"https://news.example/{n}",
        source="Post",
    )


EVIDENCE = [
    ev(0, "The bridge was built in 1923 and carries about 9,600 vehicles a day.", 0.91),
    ev(1, "Construction is scheduled to begin in September 2025.", 0.82),
    ev(2, "Storm Corvin brought record rainfall to Westmarch on Sunday.", 0.73),
]

_MARKER = re.compile(r"\[\d+\]")


# -- check_sentence -------------------------------------------------------------------------------


def test_out_of_range_marker_dropped_valid_kept():
    checked = check_sentence("The bridge was built in 1923 [1][7].", EVIDENCE)
    assert checked == CheckedSentence("The bridge was built in 1923.", (1,))


def test_out_of_range_only_marker_falls_back_to_best_support():
    checked = check_sentence("The bridge was built in 1923 [7].", EVIDENCE)
    assert checked is not None
    assert 7 not in checked.numbers
    assert checked.numbers == (1,)


def test_out_of_range_marker_on_unsupported_sentence_drops_it():
    assert check_sentence("Penguins enjoy chocolate cake [7].", EVIDENCE) is None
    assert check_sentence("Penguins enjoy chocolate cake [0].", EVIDENCE) is None


def test_valid_markers_kept_in_order_without_duplicates():
    checked = check_sentence(
        "Construction of the 1923 bridge begins in September 2025 [2, 1] [2].", EVIDENCE
    )
    assert checked == CheckedSentence(
        "Construction of the 1923 bridge begins in September 2025.", (2, 1)
    )


def test_valid_marker_must_support_the_sentence():
    """A real [n] does not make an invented claim true: unsupported sentences are dropped."""
    assert check_sentence("Rain fell [3].", EVIDENCE) is None
    assert check_sentence("The bridge tolls will triple from August [1].", EVIDENCE) is None


def test_every_number_must_be_in_the_cited_evidence():
    assert check_sentence("The bridge was built in 1924 [1].", EVIDENCE) is None
    assert check_sentence(
        "The bridge carries about 9,600 vehicles a day [1].", EVIDENCE
    ) == CheckedSentence("The bridge carries about 9,600 vehicles a day.", (1,))
    assert check_sentence("The bridge carries about 9,700 vehicles a day [1].", EVIDENCE) is None


def test_marker_on_the_wrong_sentence_moves_to_the_supporting_one():
    checked = check_sentence("Storm Corvin brought record rainfall to Westmarch [1].", EVIDENCE)
    assert checked == CheckedSentence("Storm Corvin brought record rainfall to Westmarch.", (3,))


def test_no_marker_attributed_to_best_supporting_evidence():
    checked = check_sentence("Storm Corvin brought record rainfall to Westmarch.", EVIDENCE)
    assert checked == CheckedSentence("Storm Corvin brought record rainfall to Westmarch.", (3,))
    checked = check_sentence("Construction will begin in September 2025.", EVIDENCE)
    assert checked is not None and checked.numbers == (2,)


def test_no_marker_and_unsupported_is_dropped():
    assert check_sentence("The mayor resigned after a scandal.", EVIDENCE) is None
    assert check_sentence("The of and a.", EVIDENCE) is None  # stopwords only


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "The bridge was built in 1923, see https://evil.example/x?a=1 [1].",
            "The bridge was built in 1923, see.",
        ),
        (
            "The bridge was built in 1923 www.evil.example/page [1].",
            "The bridge was built in 1923.",
        ),
        ("The bridge was built in 1923 evil.com/path [1].", "The bridge was built in 1923."),
        ("The bridge was built in 1923 FTP://evil.example/f [1].", "The bridge was built in 1923."),
        (
            "![chart](https://evil.example/c.png) The bridge was built in 1923 [1].",
            "The bridge was built in 1923.",
        ),
        (
            "The [bridge](https://evil.example) was built in 1923 [1].",
            "The bridge was built in 1923.",
        ),
        (
            "The <b>bridge</b> was built in <a href='x'>1923</a> [1].",
            "The bridge was built in 1923.",
        ),
        (
            "<img src=x onerror=alert(1)>The bridge was built in 1923 [1].",
            "The bridge was built in 1923.",
        ),
    ],
)
def test_urls_images_links_and_html_stripped(raw, expected):
    checked = check_sentence(raw, EVIDENCE)
    assert checked == CheckedSentence(expected, (1,))


@pytest.mark.parametrize(
    "raw",
    [
        "The bridge was built in 1923 (www.evil.example/page) [1].",
        "The bridge was built in 1923 <https://evil.example> [1].",
        "The bridge was built in 1923 [1] https://evil.example/x.",
    ],
)
def test_no_url_survives_awkward_punctuation(raw):
    checked = check_sentence(raw, EVIDENCE)
    assert checked is not None
    assert checked.numbers == (1,)
    assert checked.text.startswith("The bridge was built in 1923")
    for outside in ("http", "www.", "evil", "example"):
        assert outside not in checked.text


@pytest.mark.parametrize("address", ["evil.co.uk/login", "phish.example/x", "bad.de/path"])
def test_bare_domain_with_other_tld_is_stripped(address):
    checked = check_sentence(f"The bridge was built in 1923, see {address} [1].", EVIDENCE)
    assert checked is not None
    assert address not in checked.text


def test_markers_only_or_empty_is_dropped():
    assert check_sentence("[1]", EVIDENCE) is None
    assert check_sentence("  ", EVIDENCE) is None
    assert check_sentence("<br>", EVIDENCE) is None


def test_no_evidence_means_nothing_survives():
    assert check_sentence("The bridge was built in 1923 [1].", []) is None


def test_best_support_threshold():
    assert best_support("bridge built 1923", EVIDENCE) == 1
    assert best_support("bridge penguins walruses", EVIDENCE) is None  # 1/3 < 0.6
    assert best_support("bridge penguins", EVIDENCE) is None  # 1/2 < 0.6
    assert best_support("bridge built penguins", EVIDENCE) == 1  # 2/3 >= 0.6
    assert best_support("bridges built", EVIDENCE) == 1  # stems match
    assert best_support("the and", EVIDENCE) is None


def test_is_abstention():
    assert is_abstention(ABSTAIN_TEXT)
    assert is_abstention("Sorry, I COULD NOT FIND THIS IN THE ARTICLES")
    assert not is_abstention("The bridge was built in 1923.")


# -- streaming -----------------------------------------------------------------------------------

REPLY = (
    "Storm Corvin brought record rainfall [3]. The bridge was built in 1923 [1]. "
    "Penguins like chocolate cake [9]. Visit https://evil.example/now for more."
)


def _deltas(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7, 50, len(REPLY)])
def test_stream_checked_yields_only_checked_text(size):
    deltas = _deltas(REPLY, size)
    if size < 50:  # deltas end inside words
        assert any(d[-1].isalpha() and nxt[0].isalpha() for d, nxt in pairwise(deltas))
    outputs = list(stream_checked(deltas, EVIDENCE))
    assert outputs, "at least the final result"
    assert [final for _, _, final in outputs] == [False] * (len(outputs) - 1) + [True]
    for text, citations, _ in outputs:
        for forbidden in ("Penguins", "[9]", "http", "evil", "Visit"):
            assert forbidden not in text
        # every marker in the text resolves to exactly one citation, numbered 1..k
        numbers = sorted({int(m[1:-1]) for m in _MARKER.findall(text)})
        assert numbers == [c.n for c in citations] == list(range(1, len(citations) + 1))
    text, citations, final = outputs[-1]
    assert final
    assert text == "Storm Corvin brought record rainfall. [2] The bridge was built in 1923. [1]"
    # renumbered from 1 in evidence-rank order: evidence #1 (best) becomes [1], #3 becomes [2]
    assert [(c.n, c.article_id) for c in citations] == [(1, "art0"), (2, "art2")]
    assert citations[0].sentence == EVIDENCE[0].sentence
    assert (citations[0].start, citations[0].end) == (EVIDENCE[0].start, EVIDENCE[0].end)
    assert citations[0].title == "Title 0"
    assert citations[0].score == pytest.approx(0.91)


def test_stream_text_only_grows_by_whole_sentences():
    outputs = list(stream_checked(_deltas(REPLY, 2), EVIDENCE))
    plain = [" ".join(_MARKER.sub("", t).split()) for t, _, _ in outputs]
    for earlier, later in pairwise(plain):
        assert later.startswith(earlier)  # a sentence once shown is never taken back
    assert plain[0] == "Storm Corvin brought record rainfall."


def test_stream_marker_after_period_belongs_to_previous_sentence():
    reply = "The bridge was built in 1923. [1] Construction begins in September 2025. [2]"
    text, citations, final = list(stream_checked(_deltas(reply, 4), EVIDENCE))[-1]
    assert final
    assert text == "The bridge was built in 1923. [1] Construction begins in September 2025. [2]"
    assert [c.article_id for c in citations] == ["art0", "art1"]


def test_stream_abstention_is_not_an_answer_sentence():
    outputs = list(stream_checked(_deltas(ABSTAIN_TEXT, 5), EVIDENCE))
    assert outputs[-1] == ("", (), True)


def test_stream_of_nothing():
    assert list(stream_checked([], EVIDENCE)) == [("", (), True)]
    assert list(stream_checked(["", "  "], EVIDENCE)) == [("", (), True)]


def test_reply_checker_feed_and_finish():
    checker = ReplyChecker(EVIDENCE)
    assert checker.feed("The bridge was bu") == []
    assert checker.feed("ilt in 1923 [1]. Construction is sched") == [
        CheckedSentence("The bridge was built in 1923.", (1,))
    ]
    assert checker.feed("uled for September 2025") == []
    assert checker.finish() == [
        CheckedSentence("Construction is scheduled for September 2025", (2,))
    ]
    assert checker.raw.startswith("The bridge was bu")
    assert len(checker.checked) == 2


def test_render_renumbers_by_evidence_rank():
    checked = [CheckedSentence("C.", (3,)), CheckedSentence("A and C.", (3, 1))]
    text, citations = render(checked, EVIDENCE)
    assert text == "C. [2] A and C. [1][2]"
    assert [(c.n, c.article_id) for c in citations] == [(1, "art0"), (2, "art2")]
    assert render([], EVIDENCE) == ("", ())
