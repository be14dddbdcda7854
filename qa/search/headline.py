"""A sentence that restates its article's headline rarely answers a question about a detail.

A news article's lead restates its headline, and every retrieval signal (cosine, BM25, word-piece
alignment, the reader) ranks it first for almost any question about the story, because the
question names the story too: "Which judge sentenced the former Dunmere Rowing Club treasurer?"
cited "A former treasurer of the Dunmere Rowing Club has been jailed…" over "Sentencing him,
Judge Harriet Osgood said…". What the question asks beyond the headline ("judge", "sentenced")
is what the answer must hold. So a sentence of the reordered head loses

    WEIGHT × (share of its headline's terms the sentence holds)
           × (share of the question's terms its headline lacks)

— nothing when the question asks about the headline's own event ("Who won the Northfold Cup
final?"), most when it asks about something the headline does not say and the sentence only
repeats the headline. A title that the article's first sentence starts with is a stand-in cut
from the lead (NewsQA's stories, a feed without headlines, an encyclopedia entry that opens
with its name), not a headline: it costs nothing. WEIGHT: see bench/RESULTS.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from qa.answer_type import ASKING_WORDS, WORDS
from qa.types import Evidence
from vectorstore.lexical import tokenize

WEIGHT = 0.8
# A title of fewer content words names a subject ("Packet switching", "Super Bowl 50") that
# every sentence of its article is about, answers included; a headline says what happened.
HEADLINE_TERMS = 4

# words that say how to ask, not what about: stop words, the asking words, pronouns
_NOT_CONTENT = (
    frozenset(STOPWORDS_EN)
    | ASKING_WORDS
    | {
        "whose", "does", "is", "are", "was", "were", "he", "him", "his", "she", "her", "hers",
        "it", "its", "they", "them", "their", "we", "us", "our", "you", "your", "i", "me", "my",
    }
)  # fmt: skip


def content_terms(text: str) -> frozenset[str]:
    """The stemmed terms of `text`'s content words."""
    words = [w for w in WORDS.findall(text) if w.lower() not in _NOT_CONTENT]
    return frozenset(tokenize(" ".join(words)))


Key = tuple[str, int]


def restatement(
    question: str,
    head: Sequence[Evidence],
    terms: Callable[[Key], frozenset[str]],
    lead: Callable[[str], str],
) -> np.ndarray:
    """Each head sentence's penalty before WEIGHT, in [0, 1]. `terms(key)` gives a stored
    sentence's stemmed terms, `lead(article id)` the article's first sentence."""
    asked = content_terms(question)
    out = np.zeros(len(head))
    if not asked:
        return out
    for n, evidence in enumerate(head):
        headline = content_terms(evidence.title)
        if len(headline) < HEADLINE_TERMS or cut_from_lead(
            evidence.title, lead(evidence.article_id)
        ):
            continue
        held = len(headline & terms((evidence.article_id, evidence.sentence_index)))
        beyond = len(asked - headline) / len(asked)
        out[n] = held / len(headline) * beyond
    return out


def cut_from_lead(title: str, lead: str) -> bool:
    """Whether `title` is the start of the lead (letters and digits compared), or the lead
    the start of the title."""
    title_text, lead_text = _letters(title), _letters(lead)
    return bool(title_text and lead_text) and (
        lead_text.startswith(title_text) or title_text.startswith(lead_text)
    )


def _letters(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())
