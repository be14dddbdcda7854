"""Token alignment: how well a sentence covers each word of the question, word piece by word piece.

The retrieval signals compare the question with a sentence as a whole (one cosine, shared
words), so within the right article they often put first a sentence that repeats the question's
subject over the one that answers it. Alignment reads the question and each of the best few
sentences through the embedding model's contextual word-piece vectors (the same packaged
MiniLM, no other model and no training): for every word piece of the question, its best cosine
with any word piece of the sentence, averaged over the question's content words ("MaxSim", as
in ColBERT's late interaction). A sentence that holds a counterpart of each part of the question
scores high even when its wording differs. Pieces of function words ("what", "did", "the") and
punctuation weigh nothing: counted, they let a sentence score by echoing them; left out, the
first sentence is right more often on squad-train at every weight (bench/RESULTS.md).

The sentence is read after its article's title ("title: sentence", as the reader reads it).
Read alone, a lead that repeats the question's names ("A team at the University of Marrowby has
identified…") beat the sentence that answers but says "the study" or "him": the title gives
every candidate the subject's names, so the rest of the question weighs more
(samples/questions.jsonl: 0.73 with the sentence alone, 0.86 with the title; bench/RESULTS.md).

A first question's search (qa/search/searcher.py) aligns its first TOP_N sentences: the best
score enters the confidence (qa/search/confidence.py), and an extractive answer
(qa/assistant.py) reorders them by `ranker score + WEIGHT × alignment`; the rest keep their order
below them. TOP_N and WEIGHT were chosen on squad-train only (bench/align_eval.py). More
sentences and a larger weight are right more often on squad-train and SQuAD dev but not on
NewsQA dev or the sample set, and cost NewsQA's longer passages 11 ms a question: kept at 5 and
2 (bench/RESULTS.md). Follow-up searches are not aligned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from qa.search.head import MapFunction, map_longest_first

TOP_N = 5  # the evidence's first sentences that are aligned (and may be reordered)
WEIGHT = 2.0  # alignment's weight beside the ranker's score


# question words that carry no content of their own: an answer sentence need not echo them
_FUNCTION_WORDS = frozenset(STOPWORDS_EN) | {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how",
    "do", "does", "did", "is", "are", "was", "were",
}  # fmt: skip


class TokenEmbedder(Protocol):
    def embed_tokens(self, texts: Sequence[str]) -> list[np.ndarray]: ...

    def piece_words(self, text: str) -> list[str]: ...


def maxsim(question: np.ndarray, sentence: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean over the question's word pieces (weighted by `weights`, else equally) of their best
    cosine with the sentence's (both unit-length rows); 0 when either has none."""
    if not len(question) or not len(sentence):
        return 0.0
    best = (question @ sentence.T).max(axis=1)
    if weights is None or not weights.sum():
        return float(best.mean())
    return float(best @ weights / weights.sum())


def content_weights(words: Sequence[str]) -> np.ndarray:
    """1 for a word piece of a content word, 0 for one of a function word ("what", "the",
    "did") or of punctuation; all 1 when the question has no content word."""
    weights = np.array(
        [float(any(c.isalnum() for c in w) and w.lower() not in _FUNCTION_WORDS) for w in words],
        dtype=np.float32,
    )
    return weights if weights.any() else np.ones(len(words), dtype=np.float32)


@dataclass(frozen=True)
class TokenAligner:
    """Scores how well each of the best few sentences aligns with the question; `weight` is
    what an extractive answer multiplies the scores by (qa/assistant.py, qa/search/head.py)."""

    embedder: TokenEmbedder
    weight: float = WEIGHT
    content_only: bool = True  # False: every word piece of the question counts (as before)

    def scores(
        self, question: str, passages: Sequence[str], map_: MapFunction[np.ndarray] = map
    ) -> np.ndarray:
        """One alignment score per passage ("title: sentence"), in [-1, 1]. Each text is
        embedded on its own, through `map_` (an executor's `map` spreads them over cores)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        vectors = map_longest_first(map_, self._tokens, [question, *passages])
        weights = self._weights(question, len(vectors[0]))
        return np.array([maxsim(vectors[0], v, weights) for v in vectors[1:]], dtype=np.float32)

    def _weights(self, question: str, pieces: int) -> np.ndarray | None:
        """The question's content-word weights; None (every piece counts) when told so, or
        when the tokenizer's words do not line up with the embedded pieces."""
        if not self.content_only:
            return None
        words = self.embedder.piece_words(question)
        return content_weights(words) if len(words) == pieces else None

    def _tokens(self, text: str) -> np.ndarray:
        return self.embedder.embed_tokens([text])[0]
