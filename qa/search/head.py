"""The best few sentences read again, after the search: how a sentence is read with its title,
and how the head of the evidence is reordered by a bonus. Shared by word-piece alignment
(alignment.py), the sentence reader (reader.py) and the assistant, which adds both bonuses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

import numpy as np

from qa.types import Evidence

T = TypeVar("T")
MapFunction = Callable[[Callable[[str], T], Iterable[str]], Iterable[T]]


def passage(title: str, sentence: str) -> str:
    """A sentence as the rerankers read it: its article's title, then the sentence (the title
    says what 'it' and 'the plan' are about; the reader was trained on the same form)."""
    return f"{title}: {sentence}" if title else sentence


def map_longest_first(
    map_: MapFunction[T], read: Callable[[str], T], texts: Sequence[str]
) -> list[T]:
    """`read` of each text, in the texts' order, handed to `map_` longest first: two workers
    on five texts of uneven length finish sooner when the long ones start first."""
    order = sorted(range(len(texts)), key=lambda n: -len(texts[n]))
    by_index = dict(zip(order, map_(read, [texts[n] for n in order]), strict=True))
    return [by_index[n] for n in range(len(texts))]


def reorder_head(evidence: Sequence[Evidence], bonus: np.ndarray) -> list[Evidence]:
    """The first len(bonus) sentences by score + bonus, each carrying its new score; the rest
    after them in their order, their scores capped so that scores still fall down the list.
    An empty bonus leaves the evidence as it is."""
    if not len(bonus):
        return list(evidence)
    head, tail = list(evidence[: len(bonus)]), list(evidence[len(bonus) :])
    combined = [e.score + float(b) for e, b in zip(head, bonus, strict=True)]
    order = sorted(range(len(head)), key=lambda n: (-combined[n], n))
    floor = min(combined)
    reordered = [replace(head[n], score=combined[n]) for n in order]
    return reordered + [replace(e, score=min(e.score, floor)) for e in tail]
