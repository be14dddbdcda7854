"""Stage 2: one typed row per candidate sentence, holding every signal the ranker sees.

BM25 scores are divided by the best among the candidates (a question's BM25 scale depends on
its words); a sentence or chunk no dense list returned gets that list's floor (see
`Candidates`). The lexical part is computed once per search; the dense part again when exact
cosines replace floors (`refresh_dense`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from qa.answer_type import expected_kind, holds_kind
from qa.search.candidates import Candidates
from qa.search.texts import ArticleTexts
from vectorstore.store import ArticleStore


@dataclass(frozen=True, slots=True)
class CandidateFeatures:
    """What the ranker knows about one candidate sentence."""

    article_id: str
    sentence_index: int
    chunk: int
    dense_sentence: float  # cosine(question, sentence), or the dense list's floor
    dense_chunk: float  # cosine(question, the sentence's chunk), or the floor
    bm25_sentence: float  # BM25 of the sentence / the best candidate's
    bm25_chunk: float  # BM25 of the sentence's chunk / the best candidate chunk's
    answer_kind: float  # 1.0 when the sentence holds what the question asks for (a date…)

    @property
    def key(self) -> tuple[str, int]:
        return (self.article_id, self.sentence_index)


def candidate_features(
    store: ArticleStore, candidates: Candidates, texts: ArticleTexts
) -> list[CandidateFeatures]:
    """Feature rows in the candidates' order."""
    query, rows = candidates.query, candidates.rows
    bm25_sentence = store.bm25_sentence_scores(query, rows)
    bm25_chunk = store.bm25_chunk_scores(query, {(a, row.chunk) for (a, _), row in rows.items()})
    best_sentence = max(bm25_sentence.values(), default=0.0) or 1.0
    best_chunk = max(bm25_chunk.values(), default=0.0) or 1.0
    kind = expected_kind(query)
    if kind:
        texts.load(article for article, _ in rows)
    features = []
    for key, row in rows.items():
        holds = bool(kind) and holds_kind(texts(key[0])[row.start : row.end], kind)
        features.append(
            CandidateFeatures(
                article_id=key[0],
                sentence_index=key[1],
                chunk=row.chunk,
                dense_sentence=0.0,
                dense_chunk=0.0,
                bm25_sentence=bm25_sentence.get(key, 0.0) / best_sentence,
                bm25_chunk=bm25_chunk.get((key[0], row.chunk), 0.0) / best_chunk,
                answer_kind=1.0 if holds else 0.0,
            )
        )
    return refresh_dense(features, candidates)


def refresh_dense(
    features: list[CandidateFeatures], candidates: Candidates
) -> list[CandidateFeatures]:
    """The rows with their dense signals taken (again) from the candidates' dense scores."""
    sentences, chunks = candidates.dense_sentences, candidates.dense_chunks
    floor_s, floor_c = candidates.sentence_floor, candidates.chunk_floor
    return [
        replace(
            f,
            dense_sentence=sentences.get(f.key, floor_s),
            dense_chunk=chunks.get((f.article_id, f.chunk), floor_c),
        )
        for f in features
    ]
