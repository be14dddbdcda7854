"""Unit tests for qa.followup, qa.filters, qa.extractive, qa.answer_type, and the ingest's
report of skipped files."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

import pytest

from qa.answer_type import expected_kind, holds_kind, kinds_held
from qa.extractive import (
    MAX_SENTENCES,
    MORE_MARGIN,
    asks_for_more,
    extractive_answer,
    refers_back,
)
from qa.filters import FilterError, Filters
from qa.followup import (
    Context,
    PriorTurn,
    cited_articles,
    headline_leads,
    history_text,
    leans_on_history,
    names,
    names_another_article,
    own_query,
    people,
    prior_turns,
    tokenized,
    user_turns,
)
from qa.followup import resolve as resolve_query
from qa.types import Evidence, citation_from
from vectorstore.loaders import find_files
from vectorstore.types import IngestReport

pytestmark = pytest.mark.unit

PAIRS = [
    ("Who signed the NATO declaration?", "Stoltenberg signed it [1]."),
    ["What did von der Leyen say about Finland?", None],
]
MESSAGES = [
    {"role": "user", "content": "Who signed the NATO declaration?"},
    {"role": "assistant", "content": "Stoltenberg signed it [1]."},
    {"role": "user", "content": "What did von der Leyen say about Finland?"},
    {"role": "assistant", "content": "She welcomed it [2]."},
]


# -- followup -------------------------------------------------------------------------------------


def test_headline_words_no_sentence_holds_point_at_the_lead():
    titles = {"bridge": "Council approves new bridge", "storm": "Storm brings floods"}
    sentences = {
        ("bridge", 0): "Councillors voted 11 to 4 on Thursday to replace the bridge.",
        ("bridge", 1): "Work will begin in September.",
        ("storm", 0): "The storm brought floods to the valley.",
        ("storm", 1): "Rivers burst their banks.",
    }
    keys = list(sentences)

    def leads(question, keys=keys):
        said = partial(tokenized, text=sentences.__getitem__)
        return headline_leads(question, titles, keys, said)

    assert leads("When was it approved?") == {("bridge", 0)}
    # words a sentence holds too ("bridge", "storm") point nowhere; "bring" is the headline's only
    assert leads("When will the bridge open?") == set()
    assert leads("What happened in the storm?") == set()
    assert leads("What did it bring?") == {("storm", 0)}
    assert leads("When was it approved?", [("bridge", 1)]) == set()


def test_user_turns_from_pairs_and_messages():
    expected = ["Who signed the NATO declaration?", "What did von der Leyen say about Finland?"]
    assert user_turns(PAIRS) == expected
    assert user_turns(MESSAGES) == expected
    assert user_turns(None) == []
    assert user_turns([]) == []
    assert user_turns(["a bare string"]) == ["a bare string"]
    odd = [
        {"role": "user", "content": [{"type": "image", "url": "x.png"}]},
        {"role": "system", "content": "s"},
        (),
        [None, "x"],
        42,
    ]
    assert user_turns(odd) == []
    gradio_parts = [{"role": "user", "content": [{"type": "text", "text": "Who signed?"}]}]
    assert user_turns(gradio_parts) == ["Who signed?"]


@pytest.mark.parametrize(
    "question",
    [
        "When was it signed?",
        "What did they agree?",
        "Who is he?",
        "Why did this happen?",
        "How many people were there?",
        "And Finland?",
        "Why?",
        "What about the latter?",
    ],
)
def test_leans_on_history(question):
    assert leans_on_history(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who signed the NATO EU declaration?",
        "What did Stoltenberg say about Ukraine sanctions?",
        "When will construction of the Old Tanner Bridge begin?",
        "Which theatre was damaged by Storm Corvin?",
    ],
)
def test_standalone_questions_do_not_lean(question):
    assert not leans_on_history(question)


def test_leaning_words_are_whole_words():
    # "Thessaloniki", "hemisphere", "Theodore" contain it/he/the... but are not pronouns
    assert not leans_on_history("Where did Theodore Smith visit Thessaloniki hemisphere museums?")


def test_history_text_both_formats_and_limit():
    assert history_text(PAIRS) == (
        "user: Who signed the NATO declaration?\nassistant: Stoltenberg signed it [1].\n"
        "user: What did von der Leyen say about Finland?"
    )
    assert history_text(MESSAGES, limit=2) == (
        "user: What did von der Leyen say about Finland?\nassistant: She welcomed it [2]."
    )
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
    assert filters.chroma_where() == {
        "$and": [{"published_ts": {"$lte": 1673395199}}, {"published_ts": {"$gte": 0}}]
    }


def test_filters_until_with_time_is_kept():
    filters = Filters.build(until="2023-01-10T12:00:00Z")
    assert filters.until == datetime(2023, 1, 10, 12, tzinfo=UTC)


def test_filters_all_clauses():
    filters = Filters.build(
        articles=["a", "b"], since="2023-01-01", until="2023-02-01", source="Post"
    )
    assert filters.articles == ("a", "b")
    assert filters.chroma_where() == {
        "$and": [
            {"article_id": {"$in": ["a", "b"]}},
            {"published_ts": {"$gte": int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())}},
            {
                "published_ts": {
                    "$lte": int(datetime(2023, 2, 1, 23, 59, 59, tzinfo=UTC).timestamp())
                }
            },
            {"source": "Post"},
        ]
    }


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
        2023, 10, 1, tzinfo=UTC
    )


def test_filters_accept_datetime_values():
    when = datetime(2023, 5, 1, 8, tzinfo=UTC)
    assert Filters.build(since=when).since == when


@pytest.mark.parametrize(
    ("name", "value"), [("since", "not a date"), ("until", "zzz"), ("since", "2023-13-45")]
)
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
    return Evidence(
        article_id=article,
        sentence_index=index,
        sentence=sentence,
        start=index * 100,
        end=index * 100 + len(sentence),
        score=score,
        title=f"T {article}",
        published=None,
        url="",
        source="",
    )


def resolve(text: str, citations) -> list[tuple[int, str]]:
    by_n = {c.n: c for c in citations}
    out = []
    for match in re.finditer(r"(.+?) \[(\d+)\]", text):
        n = int(match.group(2))
        assert n in by_n
        out.append((n, match.group(1).strip()))
        assert by_n[n].sentence == match.group(1).strip()
    return out


def test_extractive_one_sentence_unless_asked_for_more():
    evidence = [
        ev("a", 5, "The bridge was built in 1923.", 0.9),
        ev("a", 1, "It is closed to lorries.", 0.89),
    ]  # a near tie is not enough
    text, citations = extractive_answer(evidence, "When was the bridge built?")
    assert text == "The bridge was built in 1923. [1]"
    assert len(citations) == 1
    assert citations[0].n == 1 and citations[0].sentence_index == 5
    assert citations[0].start == 500
    assert extractive_answer(evidence) == (text, citations)


@pytest.mark.parametrize(
    "question",
    [
        "Which areas flooded?",
        "Why did the bridge close?",
        "What were the reasons?",
        "Who else invested?",
        "What happened after the vote?",
        "Which countries want to join?",
    ],
)
def test_extractive_lists_reasons_and_sequences_get_more(question):
    assert asks_for_more(question)
    evidence = [
        ev("a", 5, "Later sentence.", 0.90),
        ev("b", 0, "Other article.", 0.88),
        ev("a", 1, "Earlier sentence.", 0.80),
        ev("a", 3, "Middle sentence.", 0.78),
        ev("a", 2, "Far below.", 0.90 - MORE_MARGIN - 0.01),
    ]
    text, citations = extractive_answer(evidence, question)
    # the answer first; then the next best within MORE_MARGIN, its own article first, in
    # article order
    assert text == "Later sentence. [1] Earlier sentence. [2] Other article. [3]"
    assert [(c.n, c.article_id, c.sentence_index) for c in citations] == [
        (1, "a", 5),
        (2, "a", 1),
        (3, "b", 0),
    ]
    assert len(citations) == MAX_SENTENCES
    assert [n for n, _ in resolve(text, citations)] == [1, 2, 3]


@pytest.mark.parametrize(
    "question",
    [
        "When was the bridge built?",
        "How much will it cost?",
        "Who designed it?",
        "What will the money be used for?",
    ],
)
def test_extractive_single_facts_do_not_ask_for_more(question):
    assert not asks_for_more(question)


def test_extractive_cites_the_referent_of_a_pronoun():
    answer = ev("a", 6, "She added that a full closure would be unavoidable.", 0.9)
    named = ev("a", 5, '"We cannot keep patching it," Dr. Marsh said.', 0.1)
    unnamed = ev("a", 5, "the works will start soon.", 0.1)
    text, citations = extractive_answer([answer], "How long?", lambda e: named)
    assert text == f"{answer.sentence} [1] {named.sentence} [2]"  # the answer still first
    assert [(c.n, c.sentence_index) for c in citations] == [(1, 6), (2, 5)]
    assert resolve(text, citations) == [(1, answer.sentence), (2, named.sentence)]
    # no name before it, no sentence before it, or no lookup: the answer alone
    for before in (lambda e: unnamed, lambda e: None, None):
        assert extractive_answer([answer], "How long?", before)[0] == f"{answer.sentence} [1]"
    # a sentence that names its subject needs nothing before it
    plain = ev("a", 6, "Dr. Marsh said the closure would last 14 months.", 0.9)
    assert len(extractive_answer([plain], "How long?", lambda e: named)[1]) == 1


@pytest.mark.parametrize(
    ("sentence", "back"),
    [
        ("She added that it would close.", True),
        ("The firm said it had won.", True),
        ("Its chair, Owen Pryce, urged the council.", True),
        ("They won promotion.", True),
        ("Dr. Marsh said so.", False),
        ("The bridge was built in 1923.", False),
    ],
)
def test_refers_back(sentence, back):
    assert refers_back(sentence) is back


def test_footnote_shows_source_and_date():
    evidence = ev("a", 1, "The bridge was built in 1923.", 0.9)
    dated = citation_from(
        replace(evidence, published=datetime(2025, 3, 14, tzinfo=UTC), source="Marrowby Gazette"), 1
    )
    assert dated.footnote() == (
        '[1] T a (Marrowby Gazette, 2025-03-14) — "The bridge was built in 1923." · 1923 [1923]'
    )
    # undated: the year is absolute, so it still resolves
    assert citation_from(evidence, 2).footnote() == (
        '[2] T a — "The bridge was built in 1923." · 1923 [1923]'
    )


def test_extractive_empty():
    assert extractive_answer([]) == ("", ())


# -- answer types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was the bridge built?", "date"),
        ("What year did it open?", "date"),
        ("In what month will work start?", "date"),
        ("In which year was the Old Tanner Bridge built?", "date"),
        ("Which decade saw the most floods?", "date"),
        ("In what century did it begin?", "date"),
        ("Which team won?", None),
        ("Which judge sentenced him?", "person"),  # the role asked about names a person
        ("Which Kestrel Vale player scored?", "person"),
        ("What officials said so?", "person"),
        ("Which fund will pay?", None),
        ("Which construction company built it?", None),
        ("How strong did the wind get?", "number"),
        ("How heavy was the rain?", "number"),
        ("How many people were evacuated?", "number"),
        ("How much did it cost?", "amount"),
        ("How much rain fell?", "amount"),
        ("How old is he?", "age"),
        ("How fast does it grow?", "speed"),  # a rate, not any figure
        ("How often do the trains run?", "speed"),
        ("At what rate did prices rise?", "speed"),
        ("What rate did the bank set?", None),  # a rate's value, not a speed
        ("What percentage fell?", "number"),
        ("At what age did he retire?", "age"),
        ("Who is the chair?", "person"),
        ("Whose car was stuck?", "person"),
        ("Why did it close?", None),
        ("Where is Hollin Moor?", None),
        ("Tell me who won.", None),
    ],
)
def test_expected_kind(question, kind):
    assert expected_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What is it called?", "name"),
        ("What are they called?", "name"),
        ("What's its name?", "name"),
        ("Why did it close?", "reason"),
        ("What caused the flooding?", "reason"),
        ("Who is she?", "person"),  # the first question's kinds are kept
        ("When was it approved?", "date"),
        ("What did it call for?", None),
        ("Where is it?", None),
    ],
)
def test_follow_up_kinds(question, kind):
    assert expected_kind(question, follow_up=True) == kind
    if kind in ("name", "reason"):
        assert expected_kind(question) is None  # the first-question search does not use them


@pytest.mark.parametrize(
    ("sentence", "kind", "holds"),
    [
        ("The bridge was built in 1923.", "date", True),
        ("Work starts in September.", "date", True),
        ("Nobody knows.", "date", False),
        ("It cost £14.2 million.", "number", True),
        ("Two people were hurt.", "number", True),
        ("Nobody knows.", "number", False),
        ("Chair Owen Pryce spoke.", "person", True),
        ("the chair spoke.", "person", False),
        ("The Marrowby Traders Association said footfall fell.", "person", False),
        ("Its chair, Owen Pryce, urged the Marrowby Council to act.", "person", True),
        ("Anything at all.", None, True),
        # an amount has its currency or unit; "30 years" is not how much rain fell
        ("A total of 98.4 millimetres of rain fell.", "amount", True),
        ("It cost £14.2 million.", "amount", True),
        ("Unemployment rose to 4.5 per cent.", "amount", True),
        ("The wettest January in 30 years.", "amount", False),
        ("Councillors voted 11 to 4.", "amount", False),
        # news gives an age after the name, or "aged", or "-year-old"
        ("Calloway, 44, took charge in January 2023.", "age", True),
        ("A man aged 58 was convicted.", "age", True),
        ("The 58-year-old treasurer was jailed.", "age", True),
        ("He scored 2 goals in 44 games.", "age", False),
        # "how fast" wants a rate: per unit of time, every so often, doubling, a speed
        ("The algae doubled its biomass every 31 hours.", "speed", True),
        ("Trains will run twice a day.", "speed", True),
        ("The ferry sails at 12 knots.", "speed", True),
        ("A yield of 3.1 grams per litre after 14 days.", "speed", False),
        # "what is it called?" wants the sentence that names it, "why?" one that gives a reason
        ("The strain, which they have named Nivalia frigida KV-12, was found.", "name", True),
        ('A ferry known as "Sable Star" sank.', "name", True),
        ("Prof. Dewitt called the results promising.", "name", False),
        ("The ground was saturated after a wet January, so the rain ran off.", "reason", True),
        ("The agency issued 23 flood warnings.", "reason", False),
    ],
)
def test_holds_kind(sentence, kind, holds):
    assert holds_kind(sentence, kind) is holds


@pytest.mark.parametrize(
    ("question", "sentence", "holds"),
    [
        # "who" may be answered by a body: the objectors are a cooperative, the investor a firm
        ("Who objects to the plan?", "The Selwick Sound Fishermen's Cooperative objected.", True),
        ("Who invested?", "The round was led by the investment firm Greyfern Capital.", True),
        # ... unless the question asks for a role, which a person fills
        ("Which judge sentenced him?", "He was tried at Dunmere Crown Court.", False),
        ("Which judge sentenced him?", "Sentencing him, Judge Harriet Osgood said…", True),
        # a name the question already holds is not its answer
        ("Which judge sentenced Gerald Fenwick?", "Gerald Fenwick, 58, was convicted.", False),
        ("Who chairs the traders association?", "The Marrowby Traders Association said.", False),
        ("Who chairs the traders association?", "Its chair, Owen Pryce, spoke.", True),
        ("Who noticed?", "Nobody noticed for years.", False),
    ],
)
def test_holds_kind_for_who_reads_the_question(question, sentence, holds):
    assert holds_kind(sentence, "person", question) is holds


def test_kinds_held_prefers_nothing_when_no_kind_is_asked():
    sentences = ["It cost £14.2 million.", "Councillors voted 11 to 4."]
    assert kinds_held("How much will it cost?", sentences) == [True, False]
    assert kinds_held("What did the council decide?", sentences) == [False, False]


# -- the conversation's context -------------------------------------------------------------------


def test_prior_turns_carry_cited_articles_from_answers_and_messages():
    answer = {
        "text": "x [1]",
        "citations": [{"article_id": "b1"}, {"article_id": "a1"}, {"article_id": "b1"}],
    }
    pairs = [("First?", answer), ("Second?", "plain text"), ["Third?"]]
    assert prior_turns(pairs) == [
        PriorTurn("First?", ("b1", "a1")),
        PriorTurn("Second?"),
        PriorTurn("Third?"),
    ]
    messages = [
        {"role": "user", "content": "First?"},
        {"role": "assistant", "content": "x", "metadata": {"citations": [{"article_id": "c1"}]}},
        {"role": "user", "content": [{"type": "text", "text": "Second?"}]},
        {"role": "assistant", "content": "y"},
    ]
    assert prior_turns(messages) == [PriorTurn("First?", ("c1",)), PriorTurn("Second?")]
    assert [t.question for t in prior_turns(MESSAGES)] == user_turns(MESSAGES)
    assert cited_articles(None) == cited_articles("text") == ()


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Who manages Kestrel Vale Rovers?", ["Kestrel Vale Rovers"]),
        ("Chief engineer Dr. Helena Marsh told the meeting.", ["Dr. Helena Marsh"]),
        (
            "The design, drawn up by Carrow & Lisle Engineers, includes a path.",
            ["Carrow & Lisle Engineers"],
        ),
        ("Its chair, Owen Pryce, urged the council.", ["Owen Pryce"]),
        ("When was it approved?", []),
        ("The bridge was built in 1923.", []),
    ],
)
def test_names(text, found):
    assert names(text) == found


def test_pronouns_reach_back_to_the_last_answer_that_names_someone():
    context = Context(
        questions=("What did the Rovers manager say?", "When did he take charge?"),
        queries=("What did the Rovers manager say?", "When did he take charge?"),
        articles=(("a",), ("a",)),
        sentences=(
            '"Nobody remembers the team that nearly won," said Rovers manager Rhys Calloway.',
            "Calloway, 44, took charge of the club in January 2023.",  # no full name here
        ),
    )
    assert context.last_people() == ["Rhys Calloway"]
    assert own_query("How old is he?", context) == "How old is he? Rhys Calloway"
    assert Context().last_people() == []


def test_people_are_names_without_organisation_words():
    sentence = "Dunmere Rowing Club chair Declan Hurst met Northfold League's officials."
    assert people(sentence) == ["Declan Hurst"]


CONTEXT = Context(
    questions=("How much will the new bridge cost?",),
    queries=("How much will the new bridge cost?",),
    articles=(("bridge",),),
    sentences=("Chief engineer Dr. Helena Marsh told the meeting about cracks.",),
    titles=(("bridge", "Marrowby council approves replacement for Old Tanner Bridge"),),
)


def test_resolve_and_own_query():
    assert resolve_query("When was it approved?", Context()) == "When was it approved?"
    assert resolve_query("When was it approved?", CONTEXT) == (
        "How much will the new bridge cost? When was it approved?"
    )
    standalone = "How much did Helix Tidal Power raise?"
    assert resolve_query(standalone, CONTEXT) == standalone
    # he/she: the people of the last answer; a bare "Why?": the last answer itself
    assert own_query("What did she say?", CONTEXT) == "What did she say? Dr. Helena Marsh"
    assert own_query("Why?", CONTEXT) == f"Why? {CONTEXT.sentences[-1]}"
    assert own_query("Who designed it?", CONTEXT) == "Who designed it?"
    # a role before the pronoun is whom it means, not the last answer's people
    asked = "And the chief engineer, what did she say?"
    assert own_query(asked, CONTEXT) == asked
    assert own_query("What did she tell the engineers?", CONTEXT).endswith("Dr. Helena Marsh")


def test_context_focus_subject_and_description():
    context = CONTEXT.then("Who designed it?", "q", [], abstained=True)
    assert context.focus == ("bridge",)  # an abstained turn leaves the focus as it was
    later = Context(articles=(("a",), ("b",), (), ("b",), ("c",)))
    assert later.focus == ("c", "b")  # the last FOCUS_TURNS answered turns, newest first
    assert CONTEXT.subject() == "bridge"  # its words found in the focus article's title
    described = CONTEXT.described()
    assert "Marrowby council approves replacement for Old Tanner Bridge" in described
    assert CONTEXT.sentences[-1] in described
    assert CONTEXT.answered_from(("x", "y")).focus == ("x", "y")


# -- the ingest's report of skipped files ---------------------------------------------------------


def test_find_files_counts_unsupported_files_by_type(tmp_path):
    for name in ("a.txt", "b.PDF", "c.pdf", "d.exe", "README", ".hidden.exe", "e.md"):
        (tmp_path / name).write_text("x", "utf-8")
    explicit = tmp_path / "f.docx"
    explicit.write_text("x", "utf-8")
    skipped: Counter[str] = Counter()
    found = list(find_files([tmp_path / "a.txt", tmp_path, explicit], skipped))
    assert explicit in found  # named explicitly: tried, and fails as a LoadError if it must
    assert skipped == {".pdf": 2, ".exe": 1, "no extension": 1, ".docx": 1}
    assert list(find_files([tmp_path])) == [p for p in found if p != explicit][1:]


def test_ingest_report_summary_names_skipped_types():
    report = IngestReport(added=("a",), skipped=((".exe", 1), (".pdf", 1)))
    assert report.summary().endswith("; skipped 2 files of unsupported types: .exe 1, .pdf 1")
    assert IngestReport(skipped=((".pdf", 1),)).skipped_text() == (
        "skipped 1 file of unsupported type: .pdf 1"
    )
    assert "skipped" not in IngestReport(added=("a",)).summary()


@pytest.mark.parametrize(
    ("question", "title", "named"),
    [
        ("Hollin Moor was also in the Storm Corvin story. How much rain fell there?",
         "Storm Corvin brings record rain", True),
        ("How much rain fell there?", "Storm Corvin brings record rain", False),
        # a name the focus article's title holds too does not say the subject changed
        ("Did the University of Marrowby comment on it?",
         "Marrowby University spin-out wins grant", False),
        ("What did Helix say about it?", "Storm Corvin brings record rain", False),
    ],
)  # fmt: skip
def test_names_another_article(question, title, named):
    focus = (("a1", "Cold-loving algae found by University of Marrowby team"),)
    assert names_another_article(question, title, focus) is named
