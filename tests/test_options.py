"""Per-call options: typed, validated, and closed to names that do not exist."""

from __future__ import annotations

import pytest

from qa.errors import OptionError, QuestionError
from qa.options import UNSET, AskOptions

pytestmark = pytest.mark.unit


def test_a_misspelt_option_is_an_error_naming_it_and_the_close_one():
    with pytest.raises(OptionError, match=r"unknown option 'sinse' \(did you mean 'since'\?\)"):
        AskOptions.build({"sinse": "2024-01-01"})


def test_an_unknown_option_with_no_close_name_lists_the_options():
    with pytest.raises(OptionError, match="options are: k, articles, since, until, source"):
        AskOptions.build({"temperature": 0.2})


def test_option_errors_are_question_errors_so_interfaces_show_them_as_messages():
    assert issubclass(OptionError, QuestionError)
    assert issubclass(OptionError, ValueError)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, r"k must be within 1\.\.50, not 0"),
        (51, r"k must be within 1\.\.50, not 51"),
        ("abc", "k must be a whole number, not 'abc'"),
        (True, "k must be a whole number, not True"),
        ([3], r"k must be a whole number, not \[3\]"),
    ],
)
def test_bad_k_is_refused_with_its_value(value, message):
    with pytest.raises(OptionError, match=message):
        AskOptions.build({"k": value})


def test_k_given_as_text_or_float_from_a_form_is_a_whole_number():
    assert AskOptions.build({"k": "7"}).k == 7
    assert AskOptions.build({"k": 3.0}).k == 3


def test_mode_is_one_of_the_known_modes():
    assert AskOptions.build({"mode": "llm"}).mode == "llm"
    known = "mode must be one of extractive, llm, timeline, not 'chat'"
    with pytest.raises(OptionError, match=known):
        AskOptions.build({"mode": "chat"})


def test_abstain_below_must_be_a_number():
    assert AskOptions.build({"abstain_below": "0.5"}).abstain_below == 0.5
    with pytest.raises(OptionError, match="abstain_below must be a number"):
        AskOptions.build({"abstain_below": "high"})


def test_article_and_articles_both_select_articles():
    assert AskOptions.build({"article": "a1"}).articles == ("a1",)
    assert AskOptions.build({"articles": ["a1", "a2"]}).articles == ("a1", "a2")
    assert AskOptions.build({"articles": "a1", "article": "a2"}).articles == ("a1", "a2")


def test_no_options_keep_the_assistants_settings():
    options = AskOptions.build({})
    assert options.k is None and options.mode is None and options.abstain_below is None
    assert options.llm is UNSET and options.articles == ()
    assert AskOptions.build({"llm": None}).llm is None  # explicit: answer without the LLM


def test_options_are_frozen():
    options = AskOptions.build({"k": 4})
    with pytest.raises(AttributeError):
        options.k = 5  # type: ignore[misc]
