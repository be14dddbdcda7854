"""The chat's answer stream: a question in, the conversation, sources panel and answer out.

Two callers share it. The page (`ui=True`): a blank Enter changes nothing, the question box
is cleared once when the question is taken and never touched again while answering (a
question typed meanwhile stays there; the event's `trigger_mode="always_last"` sends it once
this answer is done), and the sources panel only changes together with the answer it
belongs to. The `/chat` API (`ui=False`) streams every output in every update, as before.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from qa.assistant import Assistant
from qa.errors import QuestionError
from qa.filters import FilterError
from qa.followup import message_text
from qa.types import Answer
from ui.api import InputError, ask_options, history_messages
from ui.render import (
    chat_text,
    escape_markdown,
    linked_chat_text,
    question_text,
    sources_html,
    unescape_markdown,
)

Update = tuple[Any, Any, Any, Any]  # chat history, question box, sources panel, answer JSON


def is_blank(question: Any) -> bool:
    """Nothing to ask: empty, or only spaces, controls and invisible characters."""
    return isinstance(question, str) and not any(
        unicodedata.category(c)[0] not in "CZ" for c in question
    )


def answer_updates(
    assistant: Assistant,
    question: Any,
    history: Any,
    k: Any,
    mode: Any,
    since: Any,
    until: Any,
    source: Any,
    *,
    ui: bool,
    time_in_question: Any = True,
) -> Iterator[Update]:
    """The updates of one question, streamed sentence by sentence."""
    skip = gr.skip()
    if ui and is_blank(question):
        yield skip, skip, skip, skip  # a second Enter on an empty box: nothing happens
        return
    shown = question_text(question) if isinstance(question, str) else ""
    empty_panel = sources_html(None, None)
    messages: list[dict[str, Any]] = []
    try:
        messages = history_messages(history)
        turns = [
            (unescape_markdown(message_text(m.get("content"))), "")
            for m in messages
            if m.get("role") == "user"
        ]
        options = ask_options(k, mode, since, until, source, time_in_question)
    except (InputError, QuestionError) as err:
        yield _failed(messages, shown, err, question, empty_panel)
        return
    messages = [
        *messages,
        {"role": "user", "content": shown},
        {"role": "assistant", "content": "Searching the articles…"},
    ]
    yield messages, "", empty_panel, None
    final: Answer | None = None
    try:
        for partial in assistant.stream(question, turns, **options):
            final = partial
            for text in _growing(partial.text):
                shown_text = linked_chat_text(text, partial.citations) if ui else chat_text(text)
                messages[-1] = {"role": "assistant", "content": shown_text}
                yield (messages, skip, skip, skip) if ui else (messages, "", empty_panel, None)
    except (QuestionError, FilterError) as err:
        yield _failed(messages[:-2], shown, err, question, empty_panel)
        return
    assert final is not None
    text = linked_chat_text(final.text, final.citations) if ui else chat_text(final.text)
    messages[-1] = {"role": "assistant", "content": text}
    panel = sources_html(final, assistant.paragraph_of, article_lookup(assistant))
    yield (messages, skip if ui else "", panel, final.to_dict())


def without_last_turn(history: Any) -> Any:
    """The conversation without its last question and answer (to ask that question again)."""
    if not isinstance(history, list):
        return history
    cut = len(history)
    while cut and isinstance(history[cut - 1], dict) and history[cut - 1].get("role") != "user":
        cut -= 1
    return history[: max(cut - 1, 0)]


def answer_again_all_dates(
    assistant: Assistant,
    last: Any,
    history: Any,
    k: Any,
    mode: Any,
    since: Any,
    until: Any,
    source: Any,
) -> Iterator[Update]:
    """The last question answered again in place, without the time filter its words set."""
    if not time_filtered(last):
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return
    yield from answer_updates(
        assistant,
        last.get("question", ""),
        without_last_turn(history),
        k,
        mode,
        since,
        until,
        source,
        ui=True,
        time_in_question=False,
    )


def time_filtered(last: Any) -> bool:
    """The last answer's articles were filtered by a time named in its question."""
    filters = last.get("filters") if isinstance(last, dict) else None
    return bool(
        isinstance(filters, dict) and filters.get("from_question") and "note" not in filters
    )


def article_lookup(assistant: Assistant) -> Callable[[str], tuple[Any, str] | None]:
    """article id → (StoredArticle, whole stored text), for the article views."""

    def article_of(article_id: str) -> tuple[Any, str] | None:
        article = assistant.store.articles([article_id]).get(article_id)
        text = assistant.store.text(article_id)
        return (article, text) if article is not None and text is not None else None

    return article_of


def _failed(
    messages: list[dict[str, Any]], shown: str, err: Exception, question: Any, panel: str
) -> Update:
    """The question and the problem in the conversation; the question back in the box."""
    reply = {"role": "assistant", "content": escape_markdown(f"⚠ {err}")}
    turn = [{"role": "user", "content": shown}] if shown else []
    kept = question if isinstance(question, str) else ""
    return [*messages, *turn, reply], kept, panel, None


def _growing(text: str) -> Iterator[str]:
    """Reveal an answer sentence by sentence (each piece ends at a citation marker)."""
    cut = 0
    while True:
        at = text.find("] ", cut)
        if at < 0:
            break
        cut = at + 1
        yield text[:cut]
    yield text
