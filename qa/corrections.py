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

from qa.types import Evidence
from vectorstore.dates import as_utc
from vectorstore.store import ArticleStore

CLAIM_COVERAGE = 0.8  # share of the wrong claim's words a sentence must hold to repeat it
LOOKUP = 8  # stored sentences looked at for a note about a cited sentence
_NOTE = re.compile(r"^\W*(correction|clarification|editor'?s note)\s*[:—–-]", re.IGNORECASE)
_EARLIER = re.compile(
    r"\ban? (earlier|previous|original) version of this (article|story|report)\s+"
    r"(wrongly |incorrectly |mistakenly )?(said|stated|reported|gave|misstated)\s+(that\s+)?"
    r"(?P<claim>[^.!?]+)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+")
_MINOR = {"the", "a", "an", "of", "in", "on", "at", "to", "and", "was", "were", "is", "that"}

After = Callable[[Evidence], Evidence | None]


def is_correction(sentence: str) -> bool:
    return bool(_NOTE.search(sentence) or _EARLIER.search(sentence))


def wrong_claim(sentence: str) -> str | None:
    """What an earlier version said, per the note ("the Oriel Dam was built in 1958")."""
    found = _EARLIER.search(sentence)
    return found.group("claim").strip() if found else None


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _MINOR


def repeats(sentence: str, claim: str) -> bool:
    """The sentence holds most of the words of the claim a note says was wrong."""
    claimed = _words(claim)
    return bool(claimed) and len(claimed & _words(sentence)) / len(claimed) >= CLAIM_COVERAGE


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
    repeats, from an article not older than the cited one; None when there is none.
    `evidence_of(article_id, index)` reads a stored sentence as Evidence."""
    if is_correction(cited.sentence):
        return None
    for hit in store.bm25_sentences(cited.sentence, LOOKUP):
        if hit.key == (cited.article_id, cited.sentence_index):
            continue
        note = evidence_of(hit.article_id, hit.number)
        if note is None:
            continue
        claim = wrong_claim(note.sentence)
        if claim is None or not repeats(cited.sentence, claim) or _older(note, cited):
            continue
        fact = corrected_fact(note, after)
        if fact is not None:
            return note, fact
    return None


def _older(note: Evidence, cited: Evidence) -> bool:
    if note.published is None or cited.published is None:
        return False
    return as_utc(note.published) < as_utc(cited.published)
