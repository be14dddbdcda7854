"""Corrections: "Correction: an earlier version of this article said the dam was built in 1958."
followed by "It was completed in 1962."

Two things follow for an answer. When the best sentence is such a note, the fact the reader
needs is the sentence after it: that sentence is cited first, the note right after it (it says
what "It" is and what was wrong). And when a cited sentence repeats the claim a stored note
says was wrong (a wire copy published before the correction), the answer adds the correcting
sentence, cited, so the reader sees both: `Citation.corrected_by` names its [n].

A note is recognised by its wording ("Correction:", "an earlier version of this article
said…"); the wrong claim is what follows "said". A sentence repeats it when it holds most of
the claim's words (CLAIM_COVERAGE); the note must not be older than the cited sentence's
article (a correction applies to what came before it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from qa.types import Evidence
from vectorstore.dates import as_utc
from vectorstore.notes import is_correction, wrong_claim
from vectorstore.store import ArticleStore

CLAIM_COVERAGE = 0.8  # share of the wrong claim's words a sentence must hold to repeat it
_WORD = re.compile(r"[^\W_]+")
_MINOR = {"the", "a", "an", "of", "in", "on", "at", "to", "and", "was", "were", "is", "that"}

After = Callable[[Evidence], Evidence | None]


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _MINOR


def _holds(words: set[str], claimed: frozenset[str]) -> bool:
    """The words of a sentence hold most of the words of the claim a note says was wrong."""
    return bool(claimed) and len(claimed & words) / len(claimed) >= CLAIM_COVERAGE


@lru_cache(maxsize=65536)
def _claim_words(claim: str) -> frozenset[str]:
    """A stored note's claim words (the same notes are checked for every answer)."""
    return frozenset(_words(claim))


def corrected_fact(note: Evidence, after: After) -> Evidence | None:
    """The sentence after a note that states what an earlier version got wrong: the
    corrected fact ("It was completed in 1962."), if it is in the same paragraph."""
    if wrong_claim(note.sentence) is None:
        return None
    following = after(note)
    return following if following is not None and following.paragraph == note.paragraph else None


def correction_for(
    store: ArticleStore, cited: Evidence, after: After, evidence_of: Callable[..., Evidence | None]
) -> tuple[Evidence, Evidence] | None:
    """(note, corrected fact) of a stored correction whose wrong claim the cited sentence
    repeats, from an article not older than the cited one (the latest such note); None when
    there is none. Every stored note is checked (the store keeps them in a table).
    `evidence_of(article_id, index)` reads a stored sentence as Evidence."""
    if is_correction(cited.sentence):
        return None
    mine = _words(cited.sentence)
    found: list[tuple[Evidence, Evidence]] = []
    for article_id, index, claim in store.correction_notes():
        if (article_id, index) == (cited.article_id, cited.sentence_index):
            continue
        if not _holds(mine, _claim_words(claim)):
            continue
        note = evidence_of(article_id, index)
        if note is None or _older(note, cited):
            continue
        fact = corrected_fact(note, after)
        if fact is not None:
            found.append((note, fact))
    return max(found, key=lambda pair: _when(pair[0]), default=None)


def _when(note: Evidence) -> float:
    return as_utc(note.published).timestamp() if note.published is not None else float("-inf")


def _older(note: Evidence, cited: Evidence) -> bool:
    if note.published is None or cited.published is None:
        return False
    return as_utc(note.published) < as_utc(cited.published)
