"""Follow-up questions: turn "When was it signed?" into a question that retrieval can use.

Without an LLM the rule is: a question that leans on the conversation (a pronoun or
demonstrative such as it/they/this/that/he/she/there, or fewer than four content words) is
searched together with the previous user question. With an LLM the condense prompt rewrites
it as a standalone question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_LEANING = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|him|his|she|her|there|then|"
    r"the same|the former|the latter)\b",
    re.IGNORECASE,
)
_CONTENT = re.compile(r"[A-Za-z0-9]{3,}")
_QUESTION_WORDS = {
    "what",
    "when",
    "where",
    "who",
    "whom",
    "why",
    "how",
    "which",
    "did",
    "does",
    "was",
    "were",
    "is",
    "are",
    "the",
    "and",
    "about",
}


def message_text(content: Any) -> str:
    """Text of a chat message's content: a string, or a list of parts such as Gradio's
    [{"type": "text", "text": ...}]."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return message_text(content.get("text") or content.get("content") or "")
    if isinstance(content, list | tuple):
        return " ".join(t for t in (message_text(part) for part in content) if t)
    return ""


def user_turns(history: Sequence[Any] | None) -> list[str]:
    """User messages from history given as pairs, or as {"role", "content"} messages."""
    turns: list[str] = []
    for item in history or []:
        if isinstance(item, dict):
            text = message_text(item.get("content"))
            if item.get("role") == "user" and text:
                turns.append(text)
        elif isinstance(item, list | tuple) and item and isinstance(item[0], str):
            turns.append(item[0])
        elif isinstance(item, str):
            turns.append(item)
    return turns


def leans_on_history(question: str) -> bool:
    content = [w for w in _CONTENT.findall(question) if w.lower() not in _QUESTION_WORDS]
    return bool(_LEANING.search(question)) or len(content) < 3


def heuristic_search_query(question: str, history: Sequence[Any] | None) -> str:
    previous = user_turns(history)
    if previous and leans_on_history(question):
        return f"{previous[-1]} {question}"
    return question


def history_text(history: Sequence[Any] | None, limit: int = 6) -> str:
    lines = []
    for item in list(history or [])[-limit:]:
        if isinstance(item, dict) and message_text(item.get("content")):
            lines.append(f"{item.get('role', 'user')}: {message_text(item.get('content'))}")
        elif isinstance(item, list | tuple) and len(item) == 2:
            lines.append(f"user: {item[0]}")
            if item[1]:
                lines.append(f"assistant: {item[1]}")
    return "\n".join(lines)
