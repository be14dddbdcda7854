"""Stage 1: candidate sentences from four lists (dense and BM25, over sentences and chunks).

A chunk found by either list brings all its sentences in, so a sentence can be found through
its neighbours' words. Filters reach both sides: Chroma's `where` and BM25's article set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qa.filters import Filters
from vectorstore.store import ArticleStore
from vectorstore.types import LexicalHit, SentenceRow

DENSE_SENTENCES = 50
DENSE_CHUNKS = 10
LEXICAL_SENTENCES = 50
LEXICAL_CHUNKS = 10

Key = tuple[str, int]  # (article id, sentence index) or (article id, chunk number)


@dataclass(frozen=True)
class Candidates:
    """Every sentence worth ranking, with what each list said about it.

    `dense_sentences` / `dense_chunks` hold the cosines the dense lists returned (and, after
    `with_exact_cosines`, the exact cosines of what they missed); `allowed` is the filter's
    article set (None: no filter).
    """

    query: str
    vector: np.ndarray
    rows: dict[Key, SentenceRow]
    dense_sentences: dict[Key, float]
    dense_chunks: dict[Key, float]
    bm25_sentence_hits: tuple[LexicalHit, ...]
    bm25_chunk_hits: tuple[LexicalHit, ...]
    allowed: frozenset[str] | None
    sentence_floor: float  # the dense lists' lowest cosines: the score of what they did not
    chunk_floor: float  # return (fixed when gathered; exact cosines never lower them)

    @property
    def bm25_only(self) -> set[Key]:
        """Sentences BM25 found that no dense list returned."""
        found = {h.key for h in self.bm25_sentence_hits if h.key in self.rows}
        return found - self.dense_sentences.keys()


def dense_candidates(
    store: ArticleStore, vector: np.ndarray, filters: Filters
) -> tuple[dict[Key, float], dict[Key, float]]:
    """Cosines of the nearest sentences and chunks (both queries in flight at once)."""
    sentences, chunks = store.dense(vector, DENSE_SENTENCES, DENSE_CHUNKS, filters.chroma_where())
    return (
        {(h.article_id, h.number): h.score for h in sentences},
        {(h.article_id, h.number): h.score for h in chunks},
    )


def allowed_articles(store: ArticleStore, filters: Filters) -> frozenset[str] | None:
    """The article ids a filter lets through (None when nothing is filtered)."""
    if filters.empty:
        return None
    return frozenset(
        store.matching_ids(
            filters.articles,
            filters.since.timestamp() if filters.since else None,
            filters.until.timestamp() if filters.until else None,
            filters.source,
        )
    )


def lexical_candidates(
    store: ArticleStore, query: str, allowed: frozenset[str] | None
) -> tuple[tuple[LexicalHit, ...], tuple[LexicalHit, ...]]:
    """The best BM25 sentences and chunks within the allowed articles."""
    within = set(allowed) if allowed is not None else None
    return (
        tuple(store.bm25_sentences(query, LEXICAL_SENTENCES, within)),
        tuple(store.bm25_chunks(query, LEXICAL_CHUNKS, within)),
    )


def gather_candidates(
    store: ArticleStore,
    query: str,
    vector: np.ndarray,
    dense: tuple[dict[Key, float], dict[Key, float]],
    lexical: tuple[tuple[LexicalHit, ...], tuple[LexicalHit, ...]],
    allowed: frozenset[str] | None,
) -> Candidates:
    """The union of the four lists, chunks expanded into their sentences."""
    dense_sentences, dense_chunks = dense
    bm25_sentence_hits, bm25_chunk_hits = lexical
    keys = set(dense_sentences) | {h.key for h in bm25_sentence_hits}
    members = store.chunk_members([*dense_chunks, *(h.key for h in bm25_chunk_hits)])
    for (article, _), sentences in members.items():
        keys.update((article, i) for i in sentences)
    if allowed is not None:
        keys = {key for key in keys if key[0] in allowed}
    return Candidates(
        query=query,
        vector=vector,
        rows=store.sentence_rows(keys),
        dense_sentences=dense_sentences,
        dense_chunks=dense_chunks,
        bm25_sentence_hits=bm25_sentence_hits,
        bm25_chunk_hits=bm25_chunk_hits,
        allowed=allowed,
        sentence_floor=min(dense_sentences.values(), default=0.0),
        chunk_floor=min(dense_chunks.values(), default=0.0),
    )


def with_exact_cosines(store: ArticleStore, candidates: Candidates) -> Candidates:
    """The dense scores plus exact cosines for what BM25 found and the dense lists did not.

    Chroma's HNSW index is approximate: it can leave out the very sentence BM25 found, which
    then ranked first on the floor (the list's lowest score) while the confidence rested on
    another sentence's cosine, under the abstention threshold at worst. So when the top
    candidate has no dense score of its own, the stored vectors of the BM25-only candidates
    are fetched by id (one `get` per collection) and a cosine above the floor replaces it.
    Only then: each `get` costs about as much as a dense query (+12 ms a question when always
    done), and the top candidate is BM25-only in ~2 % of SQuAD dev questions. A cosine below
    the floor is not used: nothing was missed, the weights were fitted with the floor, and
    scoring below it cost 0.3 points of hit@1. Ids Chroma lacks keep the floor.
    """
    bm25_only = candidates.bm25_only
    floor_s, floor_c = candidates.sentence_floor, candidates.chunk_floor
    wanted = {h.key for h in candidates.bm25_chunk_hits}
    wanted |= {(key[0], candidates.rows[key].chunk) for key in bm25_only}
    wanted = {key for key in wanted if key not in candidates.dense_chunks}
    exact_s = store.sentence_similarities(candidates.vector, bm25_only)
    exact_c = store.chunk_similarities(candidates.vector, wanted) if wanted else {}
    return replace(
        candidates,
        dense_sentences={
            **{key: max(c, floor_s) for key, c in exact_s.items()},
            **candidates.dense_sentences,
        },
        dense_chunks={
            **{key: max(c, floor_c) for key, c in exact_c.items()},
            **candidates.dense_chunks,
        },
    )
