"""Stage 5: how sure the search is that its best sentence answers; below a threshold, abstain.

confidence = best dense cosine + COVERAGE_WEIGHT × (share of the question's IDF weight found
in the top sentence + the same in its chunk). A question about something the collection never
mentions has rare words no evidence holds, and no sentence close in meaning. The weight and
threshold were calibrated once on the whole SQuAD dev set: 96 % of answerable questions
answered, 88 % of unanswerable ones abstained on (README "Abstaining").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def abstain_features(store: Any, query: str, result: Any) -> dict[str, float]:
    """What the abstention model reads about one search (bench/abstain_data.py)."""
    from qa.answer_type import expected_kind, holds_kind
    from vectorstore.lexical import tokenize

    signals: Signals = result.signals
    evidence = result.evidence
    ranked = result.ranked
    top = evidence[0] if evidence else None
    text = store.text(top.article_id) if top else None
    kind = expected_kind(query)
    return {
        "dense": signals.dense,
        "coverage1": signals.coverage1,
        "coverage_chunk": signals.coverage_chunk,
        "coverage_article": store.query_coverage(query, text) if text else 0.0,
        "top_dense": ranked[0].features.dense_sentence if ranked else 0.0,
        "top_score": ranked[0].score if ranked else 0.0,
        "margin": ranked[0].score - ranked[1].score if len(ranked) > 1 else 0.0,
        "kind_asked": float(kind is not None),
        "kind_held": float(top is not None and kind is not None and holds_kind(top.sentence, kind)),
        "query_terms": float(len(set(tokenize(query)))),
    }
