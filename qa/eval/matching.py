"""When a retrieved or cited sentence counts as the right one (../shared/bench/README.md).

Two conventions, both compared after removing all whitespace and case folding (`squash`):

- evidence (ReQA, SQuAD): the question names gold sentences; a sentence is a hit when it
  contains a gold sentence or is contained in one.
- answer-containing (NewsQA): the question has `answers` and no `evidence`; a sentence is a hit
  when it contains one of the answer strings. Empty answer strings are ignored.

A question with evidence always uses the evidence rule, even when it also has answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

_SPACE = re.compile(r"\s+")
Matcher = Callable[[str], bool]


def squash(text: str) -> str:
    return _SPACE.sub("", text).casefold()


def matches(sentence: str, gold: Iterable[str]) -> bool:
    """The evidence rule: `sentence` contains a gold sentence or is contained in one."""
    s = squash(sentence)
    return bool(s) and any(g and (g in s or s in g) for g in (squash(x) for x in gold))


def contains_answer(sentence: str, answers: Iterable[str]) -> bool:
    """The answer-containing rule: `sentence` contains one of the (non-empty) answers."""
    s = squash(sentence)
    return bool(s) and any(a and a in s for a in (squash(x) for x in answers))


def uses_answers(evidence: Sequence[str], answers: Sequence[str]) -> bool:
    """Whether a question is judged by the answer-containing rule (answers, no evidence)."""
    return not any(squash(e) for e in evidence) and any(squash(a) for a in answers)


def matcher(evidence: Sequence[str], answers: Sequence[str]) -> Matcher:
    """The hit test for one question: its evidence rule, else its answer rule, else never."""
    if uses_answers(evidence, answers):
        keys = [k for k in dict.fromkeys(squash(a) for a in answers) if k]

        def by_answer(sentence: str) -> bool:
            s = squash(sentence)
            return bool(s) and any(k in s for k in keys)

        return by_answer
    gold = [k for k in dict.fromkeys(squash(e) for e in evidence) if k]

    def by_evidence(sentence: str) -> bool:
        s = squash(sentence)
        return bool(s) and any(g in s or s in g for g in gold)

    return by_evidence
