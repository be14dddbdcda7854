"""Stage 5: how sure the search is that its best sentence answers; below a threshold, abstain.

confidence = best dense cosine + COVERAGE_WEIGHT × (share of the question's IDF weight found
in the top sentence + the same in its chunk). A question about something the collection never
mentions has rare words no evidence holds, and no sentence close in meaning. The weight and
threshold were calibrated once on the whole SQuAD dev set: 96 % of answerable questions
answered, 88 % of unanswerable ones abstained on (README "Abstaining").
"""

from __future__ import annotations

from dataclasses import dataclass

COVERAGE_WEIGHT = 0.25
ABSTAIN_BELOW = 0.71


@dataclass(frozen=True)
class Signals:
    """What the confidence reads, and the BM25 tops recorded beside it for evaluation."""

    dense: float = 0.0  # best cosine of any candidate sentence (exact cosines included)
    bm25_sentence: float = 0.0  # best BM25 sentence score (raw)
    bm25_chunk: float = 0.0  # best BM25 chunk score (raw)
    coverage1: float = 0.0  # query IDF coverage of the top evidence sentence
    coverage_chunk: float = 0.0  # the same for the top sentence's chunk

    @property
    def confidence(self) -> float:
        return self.dense + COVERAGE_WEIGHT * (self.coverage1 + self.coverage_chunk)
