"""Stage 1: candidate sentences from three lists: dense over sentences, BM25 over sentences
and over chunks.

A chunk BM25 finds brings all its sentences in, so a sentence can be found through its
neighbours' words. Each candidate's chunk is then scored by its exact cosine, read from the
manifest's chunk vectors: a nearest-chunk list (chunk vectors in Chroma) added nothing to the
answers for 17 % more rows in Chroma (bench/RESULTS.md). Filters reach both sides: Chroma's
`where` and BM25's article set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qa.filters import Filters
from vectorstore.store import ArticleStore
from vectorstore.types import LexicalHit, SentenceRow

DENSE_SENTENCES = 50
# A candidate chunk's cosine counts as at least the CHUNK_FLOOR_RANK-th best among the
# candidates' chunks (the rank of the dropped nearest-chunk list's floor).
CHUNK_FLOOR_RANK = 10
LEXICAL_SENTENCES = 50
LEXICAL_CHUNKS = 10

Key = tuple[str, int]  # (article id, sentence index) or (article id, chunk number)


@dataclass(frozen=True)
class Candidates:
    """Every sentence worth ranking, with what each list said about it.

    `dense_sentences` holds the cosines the dense list returned (and, after
    `with_exact_cosines`, the exact cosines of what it missed); `dense_chunks` the cosine of
    each candidate's chunk (see CHUNK_FLOOR_RANK); `allowed` is the filter's article set
    (None: no filter).
    """

    query: str
    vector: np.ndarray
    rows: dict[Key, SentenceRow]
    dense_sentences: dict[Key, float]
    dense_chunks: dict[Key, float]
    bm25_sentence_hits: tuple[LexicalHit, ...]
    bm25_chunk_hits: tuple[LexicalHit, ...]
    allowed: frozenset[str] | None
    # the dense list's lowest cosine: the score of what it did not return (fixed when
    # gathered; exact cosines never lower it); and the chunks' floor (a chunk without a vector)
    sentence_floor: float
    chunk_floor: float

    @property
    def bm25_only(self) -> set[Key]:
        """Sentences BM25 found that the dense list did not return."""
        found = {h.key for h in self.bm25_sentence_hits if h.key in self.rows}
        return found - self.dense_sentences.keys()


def dense_candidates(store: ArticleStore, vector: np.ndarray, filters: Filters) -> dict[Key, float]:
    """Cosines of the nearest sentences."""
    hits = store.dense_sentences(vector, DENSE_SENTENCES, filters.chroma_where())
    return {(h.article_id, h.number): h.score for h in hits}


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
    dense_sentences: dict[Key, float],
    lexical: tuple[tuple[LexicalHit, ...], tuple[LexicalHit, ...]],
    allowed: frozenset[str] | None,
) -> Candidates:
    """The union of the three lists, chunks expanded into their sentences."""
    bm25_sentence_hits, bm25_chunk_hits = lexical
    keys = set(dense_sentences) | {h.key for h in bm25_sentence_hits}
    members = store.chunk_members([h.key for h in bm25_chunk_hits])
    for (article, _), sentences in members.items():
        keys.update((article, i) for i in sentences)
    if allowed is not None:
        keys = {key for key in keys if key[0] in allowed}
    rows = store.sentence_rows(keys)
    dense_chunks, chunk_floor = chunk_cosines(
        store, vector, {(a, r.chunk) for (a, _), r in rows.items()}
    )
    return Candidates(
        query=query,
        vector=vector,
        rows=rows,
        dense_sentences=dense_sentences,
        dense_chunks=dense_chunks,
        bm25_sentence_hits=bm25_sentence_hits,
        bm25_chunk_hits=bm25_chunk_hits,
        allowed=allowed,
        sentence_floor=min(dense_sentences.values(), default=0.0),
        chunk_floor=chunk_floor,
    )


def chunk_cosines(
    store: ArticleStore, vector: np.ndarray, chunks: set[Key]
) -> tuple[dict[Key, float], float]:
    """Each chunk's exact cosine, raised to the CHUNK_FLOOR_RANK-th best, and that floor."""
    exact = store.chunk_similarities(vector, chunks) if chunks else {}
    best = sorted(exact.values(), reverse=True)
    if not best:
        return {}, 0.0
    floor = best[min(CHUNK_FLOOR_RANK, len(best)) - 1]
    return {key: max(c, floor) for key, c in exact.items()}, floor


def with_exact_cosines(store: ArticleStore, candidates: Candidates) -> Candidates:
    """The dense scores plus exact cosines for what BM25 found and the dense lists did not.

    Chroma's HNSW index is approximate: it can leave out the very sentence BM25 found, which
    then ranked first on the floor (the list's lowest score) while the confidence rested on
    another sentence's cosine, under the abstention threshold at worst. So when the top
    candidate has no dense score of its own, the stored vectors of the BM25-only candidates
    are fetched by id (one `get`) and a cosine above the floor replaces it.
    Only then: each `get` costs about as much as a dense query (+12 ms a question when always
    done), and the top candidate is BM25-only in ~2 % of SQuAD dev questions. A cosine below
    the floor is not used: nothing was missed, the weights were fitted with the floor, and
    scoring below it cost 0.3 points of hit@1. Ids Chroma lacks keep the floor.
    """
    floor = candidates.sentence_floor
    exact = store.sentence_similarities(candidates.vector, candidates.bm25_only)
    return replace(
        candidates,
        dense_sentences={
            **{key: max(c, floor) for key, c in exact.items()},
            **candidates.dense_sentences,
        },
    )
