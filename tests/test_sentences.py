"""Unit tests for vectorstore.sentences.split_sentences, with a Hypothesis property."""

from __future__ import annotations

import json
from pathlib import Path

import pysbd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vectorstore import sentences as sentences_module
from vectorstore.loaders import load_file
from vectorstore.sentences import split_sentences
from vectorstore.types import Article

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. economy grew last year. Inflation fell.",
            ["The U.S. economy grew last year.", "Inflation fell."],
        ),
        (
            "Dr. Smith arrived at noon. He left at two.",
            ["Dr. Smith arrived at noon.", "He left at two."],
        ),
        (
            "The vote was held on Jan. 5 in the hall. It passed.",
            ["The vote was held on Jan. 5 in the hall.", "It passed."],
        ),
        (
            "Growth was 3.5 percent in March. Inflation fell to 2.1 percent.",
            ["Growth was 3.5 percent in March.", "Inflation fell to 2.1 percent."],
        ),
        (
            "J. R. Smith wrote the report. Then he left.",
            ["J. R. Smith wrote the report.", "Then he left."],
        ),
        (
            'She said, "It is over. We lost." Nobody answered.',
            ['She said, "It is over. We lost."', "Nobody answered."],
        ),
        (
            '"We will win the cup," said the manager. The fans cheered.',
            ['"We will win the cup," said the manager.', "The fans cheered."],
        ),
        (
            "Is it safe? Nobody knows! The council will decide.",
            ["Is it safe?", "Nobody knows!", "The council will decide."],
        ),
        (
            "Prof. Dewitt and Mr. Hurst met at 10 a.m. on Monday. They agreed.",
            ["Prof. Dewitt and Mr. Hurst met at 10 a.m. on Monday.", "They agreed."],
        ),
    ],
)
def test_split_keeps_abbreviations_decimals_initials_quotes(text, expected):
    assert texts(text) == expected


def test_offsets_index_and_article_id():
    text = "  First sentence here.   Second one follows.  "
    result = split_sentences(text, article_id="art1")
    assert [s.text for s in result] == ["First sentence here.", "Second one follows."]
    for i, sentence in enumerate(result):
        assert sentence.index == i
        assert sentence.article_id == "art1"
        assert text[sentence.start : sentence.end] == sentence.text


def test_paragraph_index_increments_across_blank_lines():
    text = (
        "Para one starts. Still para one.\n\nPara two.\n\n\n   \nPara three.\n"
        "Same paragraph, next line.\r\n\r\nPara four."
    )
    result = split_sentences(text)
    assert [(s.text, s.paragraph) for s in result] == [
        ("Para one starts.", 0),
        ("Still para one.", 0),
        ("Para two.", 1),
        ("Para three.", 2),
        ("Same paragraph, next line.", 2),
        ("Para four.", 3),
    ]


def test_line_break_is_a_hard_boundary():
    assert texts("A heading without a stop\nThe body starts here.") == [
        "A heading without a stop",
        "The body starts here.",
    ]


def test_empty_and_blank_text():
    assert split_sentences("") == []
    assert split_sentences("  \n\n \t ") == []


def test_long_line_is_cut_and_nothing_lost(monkeypatch):
    monkeypatch.setattr(sentences_module, "_MAX_SEGMENT", 60)
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    result = split_sentences(text)
    assert [s.text for s in result] == [f"Sentence number {i} is here." for i in range(40)]
    assert all(text[s.start : s.end] == s.text for s in result)


def test_sample_question_evidence_are_whole_sentences():
    """Every evidence sentence in samples/questions.jsonl is exactly one split sentence."""
    articles = [
        a
        for p in sorted((ROOT / "samples" / "articles").iterdir())
        for a in load_file(p)
        if isinstance(a, Article)
    ]
    split = {s.text for a in articles for s in split_sentences(a.text, a.id)}
    evidence = [
        e
        for line in (ROOT / "samples" / "questions.jsonl").read_text("utf-8").splitlines()
        if line.strip()
        for e in json.loads(line)["evidence"]
    ]
    assert evidence
    missing = [e for e in evidence if e not in split]
    assert not missing


# -- property -----------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "U.S.",
        "Dr. ",
        "Jan. ",
        "3.5",
        "J. R. ",
        "...",
        "e.g. ",
        "Mr. ",
        "a.m. ",
        "[1]",
        "—",
        "“",
        "”",
        '"',
        "'",
        "(",
        ")",
        ". ",
        "! ",
        "? ",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        "  ",
        "\u00a0",
        "\u2028",
        "\x85",
        "é",
        "日本語。",
        "Straße",
        "The ",
        "cat ",
        "sat",
        "Word",
    ]
)
_TEXT = st.one_of(
    st.text(max_size=2000),
    st.lists(st.one_of(_PIECES, st.characters(), st.text(max_size=12)), max_size=300)
    .map("".join)
    .map(lambda s: s[:2000]),
    st.text(alphabet=st.sampled_from(list("ab .!?\n\"'")), max_size=2000),
)


def _check_invariants(text: str) -> None:
    result = split_sentences(text, article_id="x")
    previous_end = 0
    covered = bytearray(len(text))
    for i, sentence in enumerate(result):
        assert sentence.index == i
        assert sentence.article_id == "x"
        assert text[sentence.start : sentence.end] == sentence.text
        assert sentence.text
        assert sentence.text == sentence.text.strip()
        assert sentence.start >= previous_end  # strictly increasing, no overlap
        assert sentence.end > sentence.start
        if i:
            assert sentence.paragraph >= result[i - 1].paragraph
        previous_end = sentence.end
        covered[sentence.start : sentence.end] = b"\x01" * (sentence.end - sentence.start)
    lost = [(k, ch) for k, ch in enumerate(text) if not covered[k] and not ch.isspace()]
    assert not lost


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_property_offsets_and_nothing_lost(text):
    _check_invariants(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_property_holds_when_long_lines_are_cut(text):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sentences_module, "_MAX_SEGMENT", 40)
        _check_invariants(text)


# -- the narrowed abbreviation pass gives pysbd's own sentences ----------------------------------

_PLAIN_PYSBD = pysbd.Segmenter(language="en", clean=False)


def _pysbd_both_ways(text: str) -> tuple[list[str], list[str]]:
    narrowed = sentences_module._segmenter("en")
    assert narrowed.language_module is sentences_module._NarrowedEnglish
    return (
        [str(s) for s in _PLAIN_PYSBD.processor(text).process() or []],
        [str(s) for s in narrowed.processor(text).process() or []],
    )


def _abbreviation_forms() -> list[str]:
    """Each pysbd abbreviation as written, capitalised and upper-cased."""
    from pysbd.lang.english import English

    return [
        form for a in English.Abbreviation.ABBREVIATIONS for form in (a, a.capitalize(), a.upper())
    ]


_ABBREVIATION_TEXT = st.lists(
    st.one_of(
        st.sampled_from(_abbreviation_forms()),
        st.sampled_from(
            [
                ".",
                ". ",
                " ",
                "  ",
                "\n",
                ", ",
                ":",
                ":30",
                "-",
                "?",
                "(",
                "5",
                " 12",
                "I ",
                "I'm",
                "x",
                "The",
                "she",
                "ſt",
                "K",
                "é",
                "İ",
                "\u00a0",
            ]
        ),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ABBREVIATION_TEXT)
def test_narrowed_abbreviation_pass_equals_pysbd(text):
    plain, narrowed = _pysbd_both_ways(text)
    assert narrowed == plain


@pytest.mark.parametrize(
    "text",
    [
        "Gen. Smith met Capt. Jones at 10 a.m. in the U.S. on Jan. 5. It rained.",
        "He said no. No one came. See fig. 3 and p. 12 and No. 7 for details.",
        "The St. Louis team won, e.g. in the final. Ph.D. students and D.Phil. ones came.",
        "Prof. Müller arrived. Mt. ſt. Helens erupted. Über. Dr. Dre spoke.",
        "He met ſt. paul there and st here.",  # regex case folding: "ſt" matches "st"
        "Approx. 5 people. Est. 1900. Dept. of State, i.e. the ministry. Vs. them.",
    ],
)
def test_narrowed_abbreviation_pass_on_news_like_text(text):
    plain, narrowed = _pysbd_both_ways(text)
    assert narrowed == plain


def test_narrowed_abbreviation_pass_on_the_seed():
    seeds = ROOT.parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("../shared/seeds is not here")
    lines = [
        line
        for path in sorted(seeds.iterdir())
        for article in load_file(path)
        if isinstance(article, Article)
        for line in article.text.splitlines()
        if line.strip()
    ]
    assert lines
    for line in lines:
        plain, narrowed = _pysbd_both_ways(line)
        assert narrowed == plain, line
