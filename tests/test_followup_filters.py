"""Unit tests for qa.followup, qa.filters, qa.extractive and qa.answer_type."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from qa.answer_type import expected_kind, holds_kind
from qa.extractive import EXTRA_MARGIN, MAX_SENTENCES, extractive_answer
from qa.filters import FilterError, Filters
from qa.followup import heuristic_search_query, history_text, leans_on_history, user_turns
from qa.types import Evidence

pytestmark = pytest.mark.unit

PAIRS = [("Who signed the NATO declaration?", "Stoltenberg signed it [1]."),
         ["What did von der Leyen say about Finland?", None]]
MESSAGES = [
    {"role": "user", "content": "Who signed the NATO declaration?"},
    {"role": "assistant", "content": "Stoltenberg signed it [1]."},
    {"role": "user", "content": "What did von der Leyen say about Finland?"},
    {"role": "assistant", "content": "She welcomed it [2]."},
]


# -- followup -------------------------------------------------------------------------------------


def test_user_turns_from_pairs_and_messages():
    expected = ["Who signed the NATO declaration?", "What did von der Leyen say about Finland?"]
    assert user_turns(PAIRS) == expected
    assert user_turns(MESSAGES) == expected
    assert user_turns(None) == []
    assert user_turns([]) == []
    assert user_turns(["a bare string"]) == ["a bare string"]
    odd = [{"role": "user", "content": [{"type": "image", "url": "x.png"}]},
           {"role": "system", "content": "s"}, (), [None, "x"], 42]
    assert user_turns(odd) == []
    gradio_parts = [{"role": "user", "content": [{"type": "text", "text": "Who signed?"}]}]
    assert user_turns(gradio_parts) == ["Who signed?"]


@pytest.mark.parametrize(
    "question",
    ["When was it signed?", "What did they agree?", "Who is he?", "Why did this happen?",
     "How many people were there?", "And Finland?", "Why?", "What about the latter?"],
)
def test_leans_on_history(question):
    assert leans_on_history(question)


@pytest.mark.parametrize(
    "question",
    ["Who signed the NATO EU declaration?",
     "What did Stoltenberg say about Ukraine sanctions?",
     "When will construction of the Old Tanner Bridge begin?",
     "Which theatre was damaged by Storm Corvin?"],
)
def test_standalone_questions_do_not_lean(question):
    assert not leans_on_history(question)


def test_leaning_words_are_whole_words():
    # "Thessaloniki", "hemisphere", "Theodore" contain it/he/the... but are not pronouns
    assert not leans_on_history("Where did Theodore Smith visit Thessaloniki hemisphere museums?")


@pytest.mark.parametrize("history", [PAIRS, MESSAGES])
def test_heuristic_search_query_joins_previous_question(history):
    previous = "What did von der Leyen say about Finland?"
    assert heuristic_search_query("When was it said?", history) == f"{previous} When was it said?"
    standalone = "Which theatre was damaged by Storm Corvin?"
    assert heuristic_search_query(standalone, history) == standalone


def test_heuristic_search_query_without_history():
    assert heuristic_search_query("When was it signed?", None) == "When was it signed?"
    assert heuristic_search_query("When was it signed?", []) == "When was it signed?"
    only_assistant = [{"role": "assistant", "content": "Hello"}]
    assert heuristic_search_query("When was it signed?", only_assistant) == "When was it signed?"


def test_history_text_both_formats_and_limit():
    assert history_text(PAIRS) == (
        "user: Who signed the NATO declaration?\nassistant: Stoltenberg signed it [1].\n"
        "user: What did von der Leyen say about Finland?")
    assert history_text(MESSAGES, limit=2) == (
        "user: What did von der Leyen say about Finland?\nassistant: She welcomed it [2].")
    assert history_text(None) == ""


# -- filters --------------------------------------------------------------------------------------


def test_filters_empty():
    filters = Filters.build()
    assert filters.empty
    assert filters.chroma_where() is None
    assert Filters.build(articles=[], since="", until=None, source="").empty


def test_filters_single_clauses():
    assert Filters.build(articles="abc").chroma_where() == {"article_id": {"$in": ["abc"]}}
    assert Filters.build(source="Post").chroma_where() == {"source": "Post"}
    since = Filters.build(since="2023-01-10")
    assert since.since == datetime(2023, 1, 10, tzinfo=UTC)
    assert since.chroma_where() == {"published_ts": {"$gte": 1673308800}}
    assert not since.empty


def test_filters_until_is_end_of_day_and_excludes_undated():
    filters = Filters.build(until="2023-01-10")
    assert filters.until == datetime(2023, 1, 10, 23, 59, 59, tzinfo=UTC)
    assert filters.chroma_where() == {"$and": [{"published_ts": {"$lte": 1673395199}},
                                               {"published_ts": {"$gte": 0}}]}


def test_filters_until_with_time_is_kept():
    filters = Filters.build(until="2023-01-10T12:00:00Z")
    assert filters.until == datetime(2023, 1, 10, 12, tzinfo=UTC)


def test_filters_all_clauses():
    filters = Filters.build(articles=["a", "b"], since="2023-01-01", until="2023-02-01",
                            source="Post")
    assert filters.articles == ("a", "b")
    assert filters.chroma_where() == {"$and": [
        {"article_id": {"$in": ["a", "b"]}},
        {"published_ts": {"$gte": int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())}},
        {"published_ts": {"$lte": int(datetime(2023, 2, 1, 23, 59, 59, tzinfo=UTC).timestamp())}},
        {"source": "Post"},
    ]}


@pytest.mark.parametrize("until", ["10 Jan 2023", "10 January 2023", "January 10, 2023"])
def test_filters_until_in_words_is_end_of_day(until):
    assert Filters.build(until=until).until == datetime(2023, 1, 10, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("until", ["2023-01-10", "10/01/2023", "10/01/23"])
def test_filters_until_numeric_is_end_of_day(until):
    assert Filters.build(until=until).until == datetime(2023, 1, 10, 23, 59, 59, tzinfo=UTC)


def test_filters_same_day_range_is_valid():
    filters = Filters.build(since="2023-01-10", until="2023-01-10")
    assert filters.since < filters.until


def test_filters_date_order():
    assert Filters.build(since="10/01/23").since == datetime(2023, 1, 10, tzinfo=UTC)
    assert Filters.build(since="10/01/23", date_order="mdy").since == datetime(
        2023, 10, 1, tzinfo=UTC)


def test_filters_accept_datetime_values():
    when = datetime(2023, 5, 1, 8, tzinfo=UTC)
    assert Filters.build(since=when).since == when


@pytest.mark.parametrize(("name", "value"), [("since", "not a date"), ("until", "zzz"),
                                             ("since", "2023-13-45")])
def test_filters_bad_date_names_option_and_value(name, value):
    with pytest.raises(FilterError) as caught:
        Filters.build(**{name: value})
    message = str(caught.value)
    assert f"--{name}" in message
    assert repr(value) in message


def test_filters_since_after_until():
    with pytest.raises(FilterError, match=r"--since 2023-02-01 is after --until 2023-01-01"):
        Filters.build(since="2023-02-01", until="2023-01-01")


def test_filter_error_is_value_error():
    assert issubclass(FilterError, ValueError)


# -- extractive answers ---------------------------------------------------------------------------


def ev(article: str, index: int, sentence: str, score: float) -> Evidence:
    return Evidence(article_id=article, sentence_index=index, sentence=sentence, start=index * 100,
                    end=index * 100 + len(sentence), score=score, title=f"T {article}",
                    published=None, url="", source="")


def resolve(text: str, citations) -> list[tuple[int, str]]:
    by_n = {c.n: c for c in citations}
    out = []
    for match in re.finditer(r"(.+?) \[(\d+)\]", text):
        n = int(match.group(2))
        assert n in by_n
        out.append((n, match.group(1).strip()))
        assert by_n[n].sentence == match.group(1).strip()
    return out


def test_extractive_one_sentence_when_clearly_best():
    evidence = [ev("a", 5, "The bridge was built in 1923.", 0.9),
                ev("a", 1, "It is closed to lorries.", 0.9 - EXTRA_MARGIN - 0.05)]
    text, citations = extractive_answer(evidence)
    assert text == "The bridge was built in 1923. [1]"
    assert len(citations) == 1
    assert citations[0].n == 1 and citations[0].sentence_index == 5
    assert citations[0].start == 500


def test_extractive_near_ties_in_reading_order_within_one_article():
    evidence = [ev("a", 5, "Later sentence.", 0.90), ev("a", 1, "Earlier sentence.", 0.89),
                ev("a", 3, "Middle sentence.", 0.88), ev("a", 0, "Fourth near tie.", 0.90)]
    text, citations = extractive_answer(evidence)
    assert text == "Earlier sentence. [2] Middle sentence. [3] Later sentence. [1]"
    assert [c.n for c in citations] == [1, 2, 3]  # numbered by rank
    assert len(citations) == MAX_SENTENCES
    assert sorted(n for n, _ in resolve(text, citations)) == [1, 2, 3]


def test_extractive_near_ties_across_articles_keep_rank_order():
    evidence = [ev("a", 5, "A five.", 0.9), ev("b", 1, "B one.", 0.89)]
    text, citations = extractive_answer(evidence)
    assert text == "A five. [1] B one. [2]"
    assert [(c.n, c.article_id) for c in citations] == [(1, "a"), (2, "b")]
    assert resolve(text, citations) == [(1, "A five."), (2, "B one.")]


def test_extractive_empty():
    assert extractive_answer([]) == ("", ())


# -- answer types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [("When was the bridge built?", "date"), ("What year did it open?", "date"),
     ("In what month will work start?", "date"), ("How many people were evacuated?", "number"),
     ("How much did it cost?", "number"), ("What percentage fell?", "number"),
     ("At what age did he retire?", "number"), ("Who is the chair?", "person"),
     ("Whose car was stuck?", "person"), ("Why did it close?", None),
     ("Where is Hollin Moor?", None), ("Tell me who won.", None)],
)
def test_expected_kind(question, kind):
    assert expected_kind(question) == kind


@pytest.mark.parametrize(
    ("sentence", "kind", "holds"),
    [("The bridge was built in 1923.", "date", True),
     ("Work starts in September.", "date", True),
     ("Nobody knows.", "date", False),
     ("It cost £14.2 million.", "number", True),
     ("Two people were hurt.", "number", True),
     ("Nobody knows.", "number", False),
     ("Chair Owen Pryce spoke.", "person", True),
     ("the chair spoke.", "person", False),
     ("Anything at all.", None, True)],
)
def test_holds_kind(sentence, kind, holds):
    assert holds_kind(sentence, kind) is holds
