"""Who else reported a cited sentence, and where the sources disagree.

News is copied: a wire story is republished by several outlets, lightly edited. A citation's
sentence is looked up among the stored sentences (BM25 with the sentence itself as the query,
over the rows holding nearly all its rarest terms: its copies, the few best) and every other
article holding the same or near-same wording (word-set Jaccard ≥ SAME_WORDING) is listed in
`Citation.also_in`: "also reported by 2 sources".

Sources also differ: one says 340 homes were evacuated, another 400. Among the best evidence,
a sentence from another article that gives another number with the same unit after it ("340
homes" / "400 homes") and much the same words around it (Jaccard ≥ SAME_CLAIM over the few
words before and after) makes the answer cite both, each with its source and date, and say so
(`Answer.disagreement`). Conservative on purpose: a false "sources
differ" misleads more than a missed one. The same number in both is a copy, not a dispute.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.types import AlsoIn, Evidence
from vectorstore.store import ArticleStore

SAME_WORDING = 0.85  # as near-duplicate evidence (qa/search/evidence.py)
SAME_CLAIM = 0.6  # word-set Jaccard of the words around two figures with the same unit
BEFORE, AFTER = 3, 7  # words around a figure that say what it counts
LOOKUP = 8  # stored sentences compared with each cited one
_WORDS = re.compile(r"[^\W\d_]+|\d[\d,.]*\d|\d")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(text)]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def also_in(store: ArticleStore, article_id: str, sentence: str) -> tuple[AlsoIn, ...]:
    """Other articles that hold the cited sentence's wording (not its own article)."""
    mine = set(_words(sentence))
    hits = store.similar_sentences(sentence, LOOKUP)
    keys = [h.key for h in hits if h.article_id != article_id]
    if not keys:
        return ()
    rows = store.sentence_rows(keys)
    texts = store.texts({key[0] for key in rows})  # one lookup for all the copies
    found: dict[str, None] = {}
    for key in keys:
        row = rows.get(key)
        text = texts.get(key[0]) if row else None
        if row and text and _jaccard(mine, set(_words(text[row.start : row.end]))) >= SAME_WORDING:
            found.setdefault(key[0])
    if not found:
        return ()
    meta = store.articles(found)
    return tuple(
        AlsoIn(a, meta[a].title, meta[a].source, meta[a].published) for a in found if a in meta
    )


def _figures(sentence: str) -> dict[str, tuple[str, set[str]]]:
    """Each number's unit (the word after it) → (the number, the words around it)."""
    words = _words(sentence)
    found: dict[str, tuple[str, set[str]]] = {}
    for i, word in enumerate(words[:-1]):
        if _NUMBER.fullmatch(word) and not _NUMBER.fullmatch(words[i + 1]):
            around = words[max(0, i - BEFORE) : i] + words[i + 1 : i + 1 + AFTER]
            found.setdefault(words[i + 1], (word, {w for w in around if not _NUMBER.fullmatch(w)}))
    return found


def differing(best: Evidence, others: Sequence[Evidence]) -> Evidence | None:
    """The first other-article evidence that gives another number for the same thing: the same
    unit after it ("340 homes" / "400 homes") and much the same words around it."""
    mine = _figures(best.sentence)
    if not mine:
        return None
    for other in others:
        if other.article_id == best.article_id:
            continue
        theirs = _figures(other.sentence)
        for unit in mine.keys() & theirs.keys():
            (number, around), (their_number, their_around) = mine[unit], theirs[unit]
            if number != their_number and _jaccard(around, their_around) >= SAME_CLAIM:
                return other
    return None
