"""Stage 4: pick the evidence: the top k sentences, the same wording elsewhere left out, and
no lead-in ("Stoltenberg said:") that only announces what the next sentence says."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.search.candidates import Key
from qa.search.rank import Ranked
from qa.search.texts import ArticleTexts
from qa.types import Evidence
from vectorstore.store import ArticleStore
from vectorstore.types import SentenceRow

NEAR_DUPLICATE = 0.85  # word-set Jaccard at which two sentences say the same thing
_WORDS = re.compile(r"\w+")
LEAD_IN_WORDS = 6  # a sentence this short that ends in a colon says nothing by itself


def is_lead_in(sentence: str) -> bool:
    """A short sentence ending in a colon ("Stoltenberg said:", "The list reads:"): it names
    who speaks or what follows, and cited on its own it answers nothing."""
    text = sentence.strip()
    return text.endswith(":") and len(_WORDS.findall(text)) <= LEAD_IN_WORDS


def select_evidence(
    store: ArticleStore,
    ranked: Sequence[Ranked],
    rows: dict[Key, SentenceRow],
    k: int,
    texts: ArticleTexts,
) -> list[Evidence]:
    """Top k sentences, near-duplicates (same wording elsewhere) removed.

    Texts are read a window of k * 3 candidates at a time, and the title, date and source of
    the chosen sentences' articles in one lookup at the end: in a large archive the same
    sentence recurs in many articles (wire copy, boilerplate), and each copy would otherwise
    cost its own lookups before being dropped as a duplicate. An article removed since the
    search found it is left out and the choice made again without it.
    """
    gone: set[str] = set()
    while True:
        picked = _pick(ranked, rows, k, texts, gone)
        meta = store.articles({candidate.features.article_id for candidate, _, _ in picked})
        missing = {c.features.article_id for c, _, _ in picked} - meta.keys()
        if not missing:
            break
        gone |= missing
    return [
        Evidence(
            article_id=candidate.features.article_id,
            sentence_index=candidate.features.key[1],
            sentence=sentence,
            start=row.start,
            end=row.end,
            score=float(candidate.score),
            title=meta[candidate.features.article_id].title,
            published=meta[candidate.features.article_id].published,
            url=meta[candidate.features.article_id].url,
            source=meta[candidate.features.article_id].source,
            paragraph=row.paragraph,
            chunk=row.chunk,
        )
        for candidate, row, sentence in picked
    ]


def _pick(
    ranked: Sequence[Ranked],
    rows: dict[Key, SentenceRow],
    k: int,
    texts: ArticleTexts,
    gone: set[str],
) -> list[tuple[Ranked, SentenceRow, str]]:
    """The k best candidates outside `gone` articles, each worded unlike those before it."""
    fetched: set[str] = set()
    chosen: list[tuple[Ranked, SentenceRow, str]] = []
    seen_words: list[frozenset[str]] = []
    seen_exact: set[frozenset[str]] = set()
    for position, candidate in enumerate(ranked):
        if len(chosen) >= k:
            break
        article_id = candidate.features.article_id
        if article_id in gone:
            continue
        if article_id not in fetched:
            window = {r.features.article_id for r in ranked[position : position + k * 3]}
            window -= fetched
            texts.load(window)
            fetched |= window
        row = rows[candidate.features.key]
        sentence = texts(article_id)[row.start : row.end]
        if is_lead_in(sentence):
            continue
        words = frozenset(_WORDS.findall(sentence.lower()))
        if words in seen_exact or any(
            _jaccard(words, other) >= NEAR_DUPLICATE for other in seen_words
        ):
            continue
        if words:  # no words: nothing to compare (as _jaccard says)
            seen_exact.add(words)
        seen_words.append(words)
        chosen.append((candidate, row, sentence))
    return chosen


def chunk_text(store: ArticleStore, evidence: Evidence, texts: ArticleTexts) -> str:
    """The text of the chunk holding an evidence sentence (the sentence if it has none)."""
    key = (evidence.article_id, evidence.chunk)
    members = store.chunk_members([key]).get(key)
    if not members:
        return evidence.sentence
    ends = store.sentence_rows(
        [(evidence.article_id, members[0]), (evidence.article_id, members[-1])]
    )
    first = ends.get((evidence.article_id, members[0]))
    last = ends.get((evidence.article_id, members[-1]))
    if not (first and last):
        return evidence.sentence
    return texts(evidence.article_id)[first.start : last.end]


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
