"""Stage 3: order the candidates. The ranker is one replaceable piece: features in, scores out.

`WeightedSumRanker` is the first implementation: the four retrieval signals and a small bonus
for a sentence holding the kind of answer asked for, weighted by hand. The weights were fitted
once on the whole SQuAD dev set (README "Quality and speed"), never per article.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from qa.search.features import CandidateFeatures


class Ranker(Protocol):
    """Scores candidate rows; higher is better. Must not depend on the rows' order."""

    def scores(self, rows: Sequence[CandidateFeatures]) -> list[float]: ...


@dataclass(frozen=True)
class WeightedSumRanker:
    """score = cos(q, sentence) + w·cos(q, chunk) + w·bm25(sentence) + w·bm25(chunk) + bonus."""

    reads_context = False  # the five retrieval signals only (features.basic_features)
    dense_chunk: float = 0.2
    bm25_sentence: float = 0.3
    bm25_chunk: float = 0.3
    answer_kind: float = 0.05

    def scores(self, rows: Sequence[CandidateFeatures]) -> list[float]:
        return [
            f.dense_sentence
            + self.dense_chunk * f.dense_chunk
            + self.bm25_sentence * f.bm25_sentence
            + self.bm25_chunk * f.bm25_chunk
            + self.answer_kind * f.answer_kind
            for f in rows
        ]


@dataclass(frozen=True, slots=True)
class Ranked:
    score: float
    features: CandidateFeatures


def rank(rows: Sequence[CandidateFeatures], ranker: Ranker) -> list[Ranked]:
    """Best first; ties broken by (article id, sentence index) so results are repeatable."""
    ranked = [Ranked(s, f) for s, f in zip(ranker.scores(rows), rows, strict=True)]
    ranked.sort(key=lambda r: (-r.score, r.features.article_id, r.features.sentence_index))
    return ranked
