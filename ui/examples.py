"""Example questions for the chat, drawn from the stored articles and checked by asking them.

No LLM: candidates come from a small set of templates filled from an article's title (its
subject and verb: "Storm Corvin brings record rainfall …" → "What did Storm Corvin bring?") and
from the names in its lead sentence ("What happened to <name>?"; "Who is <name>?" for
two-word names that look like people's).
Each candidate is asked through the assistant (extractive mode) and kept only when it is
answered with a citation into the article it came from. At most `max_asks` questions are asked,
newest articles first, and the result is cached per store state (its article ids), so a
second app over the same store asks nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

from ui.render import cut, plain

EXAMPLE_CHARS = 120
_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d[\d,.]*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# verbs a headline often uses in their base form after a plural subject ("Rovers win …")
_BASE_VERBS = {
    "win",
    "beat",
    "approve",
    "back",
    "ban",
    "open",
    "close",
    "sign",
    "plan",
    "reject",
    "launch",
    "warn",
    "cut",
    "raise",
    "find",
    "lose",
    "hit",
    "set",
    "agree",
    "vote",
    "call",
    "seek",
    "join",
}
_NOT_VERBS = {
    "news",
    "series",
    "species",
    "bus",
    "gas",
    "plus",
    "this",
    "its",
    "his",
    "hers",
    "less",
    "us",
    "was",
    "is",
    "has",
    "does",
    "as",
    "thus",
    "yes",
    "always",
}
_SMALL = {"a", "an", "the", "of", "for", "and", "to", "in", "on", "at", "by", "with", "from"}

_CALENDAR = {
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
}

_cache: dict[tuple[str, tuple[str, ...]], list[str]] = {}
_lock = threading.Lock()


def example_questions(assistant: Any, limit: int = 4, max_asks: int = 12) -> list[str]:
    """Up to `limit` questions the assistant answers with a citation into the article they
    were drawn from; at most `max_asks` asks, cached per store state."""
    articles = assistant.articles()
    key = (str(getattr(assistant.settings, "home", "")), tuple(sorted(a.id for a in articles)))
    with _lock:
        if key in _cache:
            return list(_cache[key][:limit])
    chosen: list[str] = []
    asks = 0
    per_article = [candidates(a.title, assistant.store.text(a.id) or "") for a in articles]
    # one question per article first (newest first), then second candidates
    for round_ in range(2):
        for article, found in zip(articles, per_article, strict=True):
            if len(chosen) >= limit or asks >= max_asks:
                break
            for question in found[round_:]:
                if question in chosen:
                    continue
                asks += 1
                if answered_from(assistant, question, article.id):
                    chosen.append(question)
                    break
                if asks >= max_asks:
                    break
    with _lock:
        _cache[key] = chosen
    return list(chosen[:limit])


def answered_from(assistant: Any, question: str, article_id: str) -> bool:
    try:
        answer = assistant.ask(question, None, mode="extractive")
    except Exception:  # a candidate the assistant refuses (too long, odd text) is no example
        return False
    return not answer.abstained and any(c.article_id == article_id for c in answer.citations)


def candidates(title: str, text: str) -> list[str]:
    """Questions built from a title and the article's lead sentence, best first."""
    found: list[str] = []
    headline = headline_question(plain(title))
    if headline:
        found.append(headline)
    lead = _SENTENCE_END.split(plain(text).strip(), maxsplit=1)[0] if text else ""
    for name in names(lead)[:2]:
        person = len(name.split()) == 2 and not _looks_like_thing(name) and " " in name
        found.append(f"Who is {name}?" if person else f"What happened to {name}?")
    return [q for q in dict.fromkeys(found) if len(q) <= EXAMPLE_CHARS]


def headline_question(title: str) -> str | None:
    """ "<Subject> <verb>s <object>" → "What did <Subject> <verb>?"; None for other titles."""
    words = title.split()
    plain_verbs = [i for i, w in enumerate(words[1:6], start=1) if w in _BASE_VERBS]
    for i, word in enumerate(words[1:6], start=1):
        base = word if plain_verbs and i == plain_verbs[0] else _base_form(word)
        if plain_verbs and i < plain_verbs[0]:
            continue  # "Marrowby researchers find …": the verb is "find", not "researchers"
        if base:
            subject = " ".join(words[:i]).strip(" ,:;-–—")
            if subject and all(_WORD.fullmatch(w.strip(",")) for w in words[:i]):
                return f"What did {subject} {base}?"
            return None
    return None


def _base_form(word: str) -> str | None:
    w = word.strip(",.;:")
    if not w.isalpha() or not w.islower() or w in _NOT_VERBS:
        return None
    if w in _BASE_VERBS:
        return w
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        if w.endswith("ies"):
            return w[:-3] + "y"
        if w.endswith(("ches", "shes", "xes", "zes", "sses")):
            return w[:-2]
        return w[:-1]
    return None


def names(sentence: str) -> list[str]:
    """Runs of capitalised words (proper names; not all-capital datelines, days or months);
    small words inside a run ("University of Marrowby") are kept."""
    runs: list[list[str]] = []
    current: list[str] = []
    for word in _tokens(sentence):
        name_word = word[:1].isupper() and not word.isupper() and word not in _CALENDAR
        if name_word or (current and word in _SMALL and word not in ("a", "an", "the")):
            current.append(word)
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    out: list[str] = []
    for run in runs:
        while run and run[-1] in _SMALL:
            run.pop()
        name = " ".join(run)
        if name and (len(run) > 1 or len(name) > 3) and name not in out:
            out.append(cut(name, 60))
    return sorted(out, key=lambda n: -len(n.split()))


def _tokens(sentence: str) -> Iterator[str]:
    for m in _WORD.finditer(sentence):
        yield m.group(0).rstrip(",.")


def _looks_like_thing(name: str) -> bool:
    return (
        name.split()[-1]
        in {
            "Bridge",
            "Club",
            "Council",
            "Cup",
            "Museum",
            "Station",
            "Hall",
            "Park",
            "Road",
            "Lane",
            "River",
            "Harbour",
            "Lighthouse",
            "School",
            "Hospital",
            "Centre",
            "Center",
            "Moor",
        }
        or len(name.split()) == 1
    )
