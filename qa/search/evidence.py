"""Stage 4: pick the evidence: the top k sentences, the same wording elsewhere left out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.search.candidates import Key
from qa.search.rank import Ranked
from qa.search.texts import ArticleTexts
from qa.types import Evidence
from vectorstore.store import ArticleStore
from vectorstore.types import SentenceRow, StoredArticle

NEAR_DUPLICATE = 0.85  # word-set Jaccard at which two sentences say the same thing
_WORDS = re.compile(r"\w+")


def select_evidence(
    store: ArticleStore,
    ranked: Sequence[Ranked],
    rows: dict[Key, SentenceRow],
    k: int,
    texts: ArticleTexts,
) -> list[Evidence]:
    """Top k sentences, near-duplicates (same wording elsewhere) removed.

    Texts are read a window of k * 3 candidates at a time, an article's title, date and source
    only once one of its sentences is chosen: in a large archive the same sentence recurs in
    many articles (wire copy, boilerplate), and each copy would otherwise cost its own lookups
    before being dropped as a duplicate.
    """
    articles: dict[str, StoredArticle | None] = {}
    fetched: set[str] = set()
    chosen: list[Evidence] = []
    seen_words: list[frozenset[str]] = []
    seen_exact: set[frozenset[str]] = set()
    for position, candidate in enumerate(ranked):
        if len(chosen) >= k:
            break
        article_id, index = candidate.features.key
        if article_id not in fetched:
            window = {r.features.article_id for r in ranked[position : position + k * 3]}
            window -= fetched
            texts.load(window)
            fetched |= window
        row = rows[(article_id, index)]
        sentence = texts(article_id)[row.start : row.end]
        words = frozenset(_WORDS.findall(sentence.lower()))
        if words in seen_exact or any(
            _jaccard(words, other) >= NEAR_DUPLICATE for other in seen_words
        ):
            continue
        if article_id not in articles:
            articles[article_id] = store.articles([article_id]).get(article_id)
        meta = articles[article_id]
        if meta is None:  # removed since it was found
            continue
        if words:  # no words: nothing to compare (as _jaccard says)
            seen_exact.add(words)
        seen_words.append(words)
        chosen.append(
            Evidence(
                article_id=article_id,
                sentence_index=index,
                sentence=sentence,
                start=row.start,
                end=row.end,
                score=float(candidate.score),
                title=meta.title,
                published=meta.published,
                url=meta.url,
                source=meta.source,
                paragraph=row.paragraph,
                chunk=row.chunk,
            )
        )
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
