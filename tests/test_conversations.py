"""Conversations that hold their thread: samples/conversations.jsonl, asked turn by turn.

Each conversation is asked as a chat would ask it: every turn with the earlier turns (questions
and the answers given) as history. "Cited right" is: not abstained, and the sentence cited [1]
contains the turn's evidence string (or one of them). The floors are figures measured on this
set (samples/README.md); a drop below them is a regression of the follow-up mechanism.

Another engineer's held-out set can be run the same way: CITEQA_CONVERSATIONS=path/to.jsonl.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from qa.assistant import Assistant
from qa.types import Answer
from tests.conftest import SAMPLES, SEED_DIR
from tests.store_invariants import share_model

pytestmark = pytest.mark.integration

CONVERSATIONS = Path(
    os.environ.get("CITEQA_CONVERSATIONS")
    or Path(__file__).resolve().parent.parent / "samples" / "conversations.jsonl"
)
# follow-up turns cited right: measured 92/104 = 0.885 (91/104 before "who" could be answered
# by a body the question does not name; 86/97 = 0.887 without the seed); it was
# 89/104 on one machine and 88/104 on another before the follow-up kinds "name" and "reason"
FOLLOW_UP_FLOOR = 0.85
FIRST_TURN_FLOOR = 0.90  # first turns cited right (measured 0.97)
WRONGLY_ABSTAINED_CEILING = 0.05  # answerable follow-ups abstained on (measured 0/104)


@dataclass(frozen=True)
class Turn:
    question: str
    evidence: tuple[str, ...]
    article: str
    answerable: bool


def read_conversations(path: Path = CONVERSATIONS) -> list[tuple[str, list[Turn]]]:
    conversations = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        turns = []
        for turn in item["turns"]:
            evidence = turn.get("evidence") or ()
            turns.append(
                Turn(
                    turn["question"],
                    (evidence,) if isinstance(evidence, str) else tuple(evidence),
                    turn.get("article", ""),
                    bool(turn.get("answerable", True)),
                )
            )
        conversations.append((item["id"], turns))
    return conversations


def needs_seed(turns: list[Turn]) -> bool:
    return any(t.article == "seed" for t in turns)


def seed_present() -> bool:
    return SEED_DIR.is_dir() and any(SEED_DIR.glob("*.txt"))


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder) -> Iterator[Assistant]:
    with pytest.MonkeyPatch.context() as patch:  # the session's model, not a second copy
        share_model(patch, embedder)
        built = Assistant(home=tmp_path_factory.mktemp("conversations") / "home")
    with built:
        report = built.ingest([SAMPLES, *([SEED_DIR] if seed_present() else [])])
        assert not report.failed
        yield built


def cited_right(answer: Answer, turn: Turn) -> bool:
    first = [c for c in answer.citations if c.n == 1]
    return (
        not answer.abstained and bool(first) and any(e in first[0].sentence for e in turn.evidence)
    )


def as_messages(pairs: list[tuple[str, Answer]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for question, answer in pairs:
        messages += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]
    return messages


def test_the_set_is_well_formed(assistant):
    conversations = read_conversations()
    if CONVERSATIONS.name == "conversations.jsonl":
        assert len(conversations) >= 30
        follow_ups = [t for _, turns in conversations for t in turns[1:]]
        assert len(follow_ups) >= 90
        assert sum(not t.answerable for t in follow_ups) >= 3
    texts = [assistant.store.text(a.id) or "" for a in assistant.articles()]
    for cid, turns in conversations:
        if needs_seed(turns) and not seed_present():
            continue
        assert turns[0].answerable, cid
        for turn in turns:
            assert turn.answerable == bool(turn.evidence), (cid, turn.question)
            for evidence in turn.evidence:  # verbatim in exactly the stored article text
                assert any(evidence in text for text in texts), (cid, evidence)


@dataclass(frozen=True)
class Rates:
    """How the assistant did over the conversation set (also read by bench/train_reader.py)."""

    first: int
    first_right: int
    follow: int
    follow_right: int
    abstained: int  # answerable follow-ups abstained on
    unanswerable: int
    unanswerable_abstained: int
    misses: tuple[str, ...]

    def meets_floors(self) -> bool:
        return (
            self.first_right / self.first >= FIRST_TURN_FLOOR
            and self.follow_right / self.follow >= FOLLOW_UP_FLOOR
            and self.abstained / self.follow <= WRONGLY_ABSTAINED_CEILING
        )


def conversation_rates(
    assistant: Assistant, conversations: list[tuple[str, list[Turn]]] | None = None
) -> Rates:
    """Ask every conversation turn by turn (the seed's only when the seed is here); the set's
    by default, or `conversations` (bench/conversations.py)."""
    conversations = [
        (cid, turns)
        for cid, turns in (read_conversations() if conversations is None else conversations)
        if seed_present() or not needs_seed(turns)
    ]
    first = follow = follow_right = abstained = unanswerable = unanswerable_abstained = 0
    first_right = 0
    misses = []
    for cid, turns in conversations:
        history: list[tuple[str, Answer]] = []
        for number, turn in enumerate(turns):
            answer = assistant.ask(turn.question, [(q, a.text) for q, a in history])
            right = cited_right(answer, turn)
            if number == 0:
                first += 1
                first_right += right
            elif turn.answerable:
                follow += 1
                follow_right += right
                abstained += answer.abstained
            else:
                unanswerable += 1
                unanswerable_abstained += answer.abstained
            if turn.answerable and not right:
                misses.append(f"{cid}.{number} {turn.question!r}: {answer.text[:80]!r}")
            history.append((turn.question, answer))
    return Rates(
        first,
        first_right,
        follow,
        follow_right,
        abstained,
        unanswerable,
        unanswerable_abstained,
        tuple(misses),
    )


def test_conversation_rates(assistant):
    rates = conversation_rates(assistant)
    print(
        f"\nfirst turns cited right {rates.first_right}/{rates.first}, follow-ups cited right "
        f"{rates.follow_right}/{rates.follow}, wrongly abstained {rates.abstained}/{rates.follow}"
        f", unanswerable follow-ups abstained "
        f"{rates.unanswerable_abstained}/{rates.unanswerable}"
    )
    print("\n".join(rates.misses))
    assert rates.first_right / rates.first >= FIRST_TURN_FLOOR
    assert rates.follow_right / rates.follow >= FOLLOW_UP_FLOOR
    assert rates.abstained / rates.follow <= WRONGLY_ABSTAINED_CEILING


def test_pairs_and_messages_give_the_same_answers(assistant):
    for cid, turns in read_conversations()[:8]:
        if needs_seed(turns) and not seed_present():
            continue
        history: list[tuple[str, Answer]] = []
        for turn in turns:
            pairs = assistant.ask(turn.question, [(q, a.text) for q, a in history])
            messages = assistant.ask(turn.question, as_messages(history))
            bare = assistant.ask(turn.question, [(q, "") for q, _ in history])  # the chat's
            assistant.followups.clear()  # replayed from scratch, as a fresh process would
            cold = assistant.ask(turn.question, [(q, a.text) for q, a in history])
            assert pairs.text == messages.text == bare.text == cold.text, (cid, turn.question)
            assert pairs.search_query == messages.search_query
            history.append((turn.question, pairs))


BRIDGE = "How much will the new bridge cost?"
HELIX = "How much did Helix Tidal Power raise?"


def test_symptoms_of_the_issue(assistant):
    """The follow-ups that abstained before (issue #16) are answered from the article."""
    bridge = assistant.ask(BRIDGE)
    assert "£14.2 million" in bridge.citations[0].sentence
    history = [(BRIDGE, bridge.text)]
    # the headline's "approves" is in no sentence: the lead ("voted … on Thursday evening") is
    approved = assistant.ask("When was it approved?", history)
    assert "voted 11 to 4 on Thursday evening" in approved.citations[0].sentence
    designed = assistant.ask("Who designed it?", history)
    assert "Carrow & Lisle Engineers" in designed.citations[0].sentence
    assert designed.search_query == f"{BRIDGE} Who designed it?"  # what the focus ranked by
    closed = assistant.ask("How long will it be closed?", history)
    assert "roughly 14 months" in closed.citations[0].sentence
    # "She added that…": the sentence naming her is cited too, after the answer
    assert [c.n for c in closed.citations] == [1, 2]
    assert "Dr. Marsh" in closed.citations[1].sentence
    assert closed.text.index("[1]") < closed.text.index("[2]")
    helix = assistant.ask(HELIX)
    money = assistant.ask("What will the money be used for?", [(HELIX, helix.text)])
    assert "add 12 turbines" in money.citations[0].sentence


MANAGER = "Who is the manager of Kestrel Vale Rovers?"


def test_the_context_holds_the_sentence_cited(assistant):
    """ "he" in a follow-up is the person of the sentence the user was shown [1] (which the
    alignment and the reader chose over the ranker's first, the match report's lead), whether
    the context was kept from the answer or is replayed from the history's text."""
    from qa.filters import Filters

    manager = assistant.ask(MANAGER)
    shown = manager.citations[0].sentence
    assert "Rhys Calloway" in shown
    ranker_first = assistant.searcher.search(MANAGER, 10).evidence[0].sentence
    assert ranker_first != shown  # else this test would not tell the two apart
    history = [(MANAGER, manager.text)]
    for replayed in (False, True):
        if replayed:
            assistant.followups.clear()
        context = assistant.followups.context(history, Filters(), assistant.abstain_below)
        assert context.last_sentence == shown, replayed
        job = assistant.ask("When did he take the job?", history)
        assert "took charge of the club in January 2023" in job.citations[0].sentence, replayed


def test_naming_another_story_leaves_the_focus_despite_a_pronoun(assistant):
    algae = "Where will the algae trials take place?"
    first = assistant.ask(algae)
    assert "Hollin Moor" in first.citations[0].sentence
    rain = assistant.ask(
        "Hollin Moor was also in the Storm Corvin story. How much rain fell there?",
        [(algae, first.text)],
    )
    assert "98.4 millimetres" in rain.citations[0].sentence
    # without the storm's name, "there" keeps the conversation in the algae study
    stay = assistant.ask("What will they test there?", [(algae, first.text)])
    assert stay.citations[0].article_id == first.citations[0].article_id


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("How long did the jury deliberate before convicting the former treasurer?", "five hours"),
        ("In what year was Helix Tidal Power founded?", "founded in 2016"),
    ],
)
def test_a_detail_is_not_answered_by_the_headline_restated(
    assistant, monkeypatch, question, answer
):
    """The lead restates the headline and every signal ranks it first; the question asks what
    the headline does not say (qa/search/headline.py)."""
    from qa.search import headline

    assert answer in assistant.ask(question).citations[0].sentence
    monkeypatch.setattr(headline, "WEIGHT", 0.0)
    without = assistant.ask(question).citations[0]
    assert answer not in without.sentence and without.sentence_index == 0


def test_the_kind_of_answer_asked_for_decides_among_the_best(assistant, monkeypatch):
    """ "How much…" wants an amount: the lead (the vote) restates the story and outranks the
    sentence with the cost on every signal but the kind (qa/answer_type.py)."""
    import qa.assistant

    question = "How much will Marrowby's replacement for the Old Tanner Bridge cost?"
    assert "£14.2 million" in assistant.ask(question).citations[0].sentence
    monkeypatch.setattr(qa.assistant, "REORDER_WEIGHT", 0.0)
    without = assistant.ask(question).citations[0]
    assert "£14.2 million" not in without.sentence and without.sentence_index == 0


def test_who_may_be_a_body_the_question_does_not_name(assistant, monkeypatch):
    """ "Who's against it?" after the tidal array: a fishermen's cooperative objects. Read as a
    person only, the kind pointed at the company's founders instead."""
    import qa.followup
    from qa import answer_type

    first = "How many homes could Helix's expanded Selwick Sound tidal array supply?"
    history = [(first, assistant.ask(first).text)]
    answer = assistant.ask("Who's against it?", history)
    assert "Fishermen's Cooperative" in answer.citations[0].sentence
    monkeypatch.setattr(
        qa.followup,
        "holds_kind",
        lambda sentence, kind, question=None: answer_type.holds_kind(sentence, kind),
    )
    assistant.followups.clear()
    before = assistant.ask("Who's against it?", history)
    assert "Fishermen's Cooperative" not in before.citations[0].sentence


def test_a_question_that_leaves_the_focus_is_answered_as_a_first_question(assistant, monkeypatch):
    """ "Separate question: who funded …?" after the bridge: it leaves the bridge article and
    is read and reordered as a first question is; the plain search (as for a follow-up inside
    the focus) cites the algae story's lead instead."""
    funded = "Separate question: who funded the University of Marrowby's cold-water algae research?"
    history = [(BRIDGE, assistant.ask(BRIDGE).text)]
    answer = assistant.ask(funded, history)
    assert "funded by a £1.8 million grant" in answer.citations[0].sentence
    assert answer.search_query == funded
    monkeypatch.setattr(assistant.followups, "_search", assistant.followups._follow)
    assistant.followups.clear()
    plain = assistant.ask(funded, history)
    assert "funded by" not in plain.citations[0].sentence


def test_a_first_question_search_is_not_reordered_twice(assistant, monkeypatch):
    """A follow-up answered by the first-question search (it left the focus, or the turn
    before was abstained on) gets its evidence as cited: "latest" is not applied again."""
    import qa.assistant
    from qa.recency import prefer_recent

    calls: list[str] = []

    def counted(question: str, evidence: Any) -> Any:
        calls.append(question)
        return prefer_recent(question, evidence)

    monkeypatch.setattr(qa.assistant, "prefer_recent", counted)
    funded = "Separate question: who funded the University of Marrowby's cold-water algae research?"
    history = [(BRIDGE, assistant.ask(BRIDGE).text)]
    calls.clear()
    assistant.followups.clear()
    assistant.ask(funded, history)
    assert calls.count(funded) == 1  # in the first-question search only
    abstained = [("Who won the 2024 mayoral election in Marrowby?", "I could not find this.")]
    calls.clear()
    assistant.ask("What is the latest on the bridge?", abstained)
    assert calls.count("What is the latest on the bridge?") == 1


def test_a_new_subject_leaves_the_focus(assistant):
    bridge = assistant.ask(BRIDGE)
    answer = assistant.ask(HELIX, [(BRIDGE, bridge.text)])
    assert "€42.5 million" in answer.citations[0].sentence
    assert answer.search_query == HELIX  # a standalone question is searched as asked


def test_citations_carried_in_messages_set_the_focus(assistant):
    """An assistant message carrying its citations (as the Answer's to_dict() does) names the
    article the follow-up is about, without replaying the question."""
    helix = assistant.ask(HELIX)
    history = [
        {"role": "user", "content": "Tell me about the tidal energy funding."},
        {
            "role": "assistant",
            "content": helix.text,
            "citations": [{"article_id": helix.citations[0].article_id}],
        },
    ]
    answer = assistant.ask("Who objects to the plan?", history)
    assert not answer.abstained
    assert answer.citations[0].article_id == helix.citations[0].article_id


def test_off_topic_follow_up_still_abstains(assistant):
    bridge = assistant.ask(BRIDGE)
    answer = assistant.ask("Who won the World Cup in 2018?", [(BRIDGE, bridge.text)])
    assert answer.abstained


def test_no_history_is_the_single_turn_search(assistant, monkeypatch):
    """Without history nothing of the follow-up machinery runs: one search, as before."""
    calls: list[tuple[Any, ...]] = []
    search = assistant.searcher.search

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return search(*args, **kwargs)

    monkeypatch.setattr(assistant.searcher, "search", counted)
    answer = assistant.ask(BRIDGE)
    assert len(calls) == 1 and calls[0][0] == BRIDGE
    assert answer.search_query == BRIDGE
    assert assistant.ask(BRIDGE, []).text == answer.text


def test_condense_prompt_gets_the_context(assistant):
    bridge = assistant.ask(BRIDGE)
    rewritten = "Who designed the new Old Tanner Bridge?"
    llm = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(content=rewritten),
                AIMessage(content="Carrow & Lisle Engineers [1]."),
            ]
        )
    )
    seen: list[str] = []
    invoke = type(llm).invoke

    def spy(self: Any, prompt: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(prompt.to_string() if hasattr(prompt, "to_string") else str(prompt))
        return invoke(self, prompt, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(llm), "invoke", spy)
        query = assistant.search_query("Who designed it?", [(BRIDGE, bridge.text)], llm)
    assert query == rewritten
    prompt = seen[0]
    assert BRIDGE in prompt and "Who designed it?" in prompt
    assert "Articles the conversation is about" in prompt
    assert "Marrowby council approves £14.2 million replacement for Old Tanner Bridge" in prompt
    assert bridge.citations[0].sentence in prompt  # the last answer's sentence
