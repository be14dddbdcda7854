"""The staged search: candidates → features → rank → evidence → confidence.

Each stage is a function of its own module with a typed record between them; this module only
runs them in order and times them. Settings in the constructor, data in `search()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from qa.filters import Filters
from qa.search.alignment import TOP_N, TokenAligner
from qa.search.candidates import (
    allowed_articles,
    dense_candidates,
    gather_candidates,
    lexical_candidates,
    with_exact_cosines,
)
from qa.search.confidence import Signals
from qa.search.evidence import chunk_text, select_evidence
from qa.search.features import (
    CandidateFeatures,
    FeatureCache,
    basic_features,
    candidate_features,
    refresh_dense,
)
from qa.search.head import passage
from qa.search.rank import Ranked, Ranker, WeightedSumRanker, rank
from qa.search.texts import ArticleTexts
from qa.timing import elapsed_ms
from qa.types import Evidence
from vectorstore.embed import Embedder
from vectorstore.store import ArticleStore

LEXICAL_WORKERS = 2  # BM25 searches in flight at once (the chat answers several people)


@dataclass(frozen=True)
class SearchResult:
    """The evidence for one question, the signals its confidence reads, and stage timings."""

    evidence: tuple[Evidence, ...]
    signals: Signals = field(default_factory=Signals)
    timings: dict[str, float] = field(default_factory=dict)
    ranked: tuple[Ranked, ...] = ()  # every candidate, best first (for evaluation, training)
    # word-piece alignment of the first evidence sentences, by (article id, sentence index)
    aligned: dict[tuple[str, int], float] = field(default_factory=dict)
    # the reader's score of the first sentence, read beside the alignment (`read_first`)
    read: dict[tuple[str, int], float] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        return self.signals.confidence


class Searcher:
    """Finds evidence sentences for a question in one store."""

    def __init__(
        self,
        store: ArticleStore,
        embedder: Embedder,
        ranker: Ranker | None = None,
        aligner: TokenAligner | None = None,
    ):
        self.store = store
        # aligns the question with the first sentences; its best score enters the confidence
        self.aligner = aligner
        self._align_pool = ThreadPoolExecutor(2, thread_name_prefix="citeqa-align")
        self.embedder = embedder
        # hand-set weights; the trained alternative is qa.search.learned.packaged_ranker()
        self.ranker: Ranker = ranker or WeightedSumRanker()
        self.feature_cache = FeatureCache(embedder)  # title vectors, sentence terms
        self._lexical_pool = ThreadPoolExecutor(LEXICAL_WORKERS, thread_name_prefix="citeqa-bm25")

    def close(self) -> None:
        """Let the BM25 workers go (a search after this is an error)."""
        self._lexical_pool.shutdown(wait=False, cancel_futures=True)
        self._align_pool.shutdown(wait=False, cancel_futures=True)

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        align: bool = True,
        read_first: Callable[[Evidence], float] | None = None,
    ) -> SearchResult:
        """`align=False` leaves word-piece alignment out (follow-ups: qa/followup.py).
        `read_first` scores the first evidence sentence on the alignment's workers while they
        align (the sentence reader, which reads it next: qa/search/reader.py); five texts on
        two workers leave a turn free for it."""
        filters = filters or Filters()
        timings: dict[str, float] = {}
        # BM25 needs no vector: it runs on another core while the question is embedded and
        # the nearest sentences are found (numpy and the encoder release the GIL)
        lexical_job = self._lexical_pool.submit(self._lexical, query, filters)
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        timings["embed_ms"] = elapsed_ms(t0)

        t1 = time.perf_counter()
        dense = dense_candidates(self.store, vector, filters)
        timings["dense_ms"] = elapsed_ms(t1)

        t2 = time.perf_counter()
        allowed, lexical, timings["lexical_ms"] = lexical_job.result()
        timings["lexical_wait_ms"] = elapsed_ms(t2)

        t3 = time.perf_counter()
        candidates = gather_candidates(self.store, query, vector, dense, lexical, allowed)
        texts = ArticleTexts(self.store)  # each article's text read once per search
        if getattr(self.ranker, "reads_context", True):
            features = candidate_features(self.store, candidates, texts, self.feature_cache)
        else:
            features = basic_features(self.store, candidates, texts)
        ranked = rank(features, self.ranker)
        if ranked and _needs_exact_cosines(self.ranker, ranked, features, candidates.bm25_only):
            candidates = with_exact_cosines(self.store, candidates)
            ranked = rank(refresh_dense(features, candidates), self.ranker)
        evidence = select_evidence(self.store, ranked, candidates.rows, k, texts)
        timings["rank_ms"] = elapsed_ms(t3)
        early = None
        if align and read_first is not None and evidence:
            early = self._align_pool.submit(read_first, evidence[0])
        aligned = self.align(query, evidence[:TOP_N], timings) if align else {}
        signals = self._signals(query, candidates.dense_sentences, lexical, evidence, texts)
        read = {}
        if early is not None:  # waited for last: the signals are worked out meanwhile
            read[(evidence[0].article_id, evidence[0].sentence_index)] = early.result()
        if aligned:
            signals = replace(signals, aligned=max(aligned.values()))
        return SearchResult(tuple(evidence), signals, timings, tuple(ranked), aligned, read)

    def align(
        self, query: str, evidence: Sequence[Evidence], timings: dict[str, float] | None = None
    ) -> dict[tuple[str, int], float]:
        """Each sentence's word-piece alignment with the question ({} without an aligner);
        its texts run on two workers."""
        if self.aligner is None or not evidence:
            return {}
        started = time.perf_counter()
        passages = [passage(e.title, e.sentence) for e in evidence]
        scores = self.aligner.scores(query, passages, self._align_pool.map)
        if timings is not None:
            timings["align_ms"] = elapsed_ms(started)
        return {
            (e.article_id, e.sentence_index): float(s)
            for e, s in zip(evidence, scores, strict=True)
        }

    def _lexical(
        self, query: str, filters: Filters
    ) -> tuple[frozenset[str] | None, tuple[tuple, tuple], float]:
        """(the articles the filters allow, the BM25 sentences and chunks, its milliseconds)."""
        started = time.perf_counter()
        allowed = allowed_articles(self.store, filters)
        return allowed, lexical_candidates(self.store, query, allowed), elapsed_ms(started)

    def _signals(
        self,
        query: str,
        dense_sentences: dict[tuple[str, int], float],
        lexical: tuple[tuple, tuple],
        evidence: list[Evidence],
        texts: ArticleTexts,
    ) -> Signals:
        sentence_hits, chunk_hits = lexical
        top = evidence[0] if evidence else None
        return Signals(
            dense=max(dense_sentences.values(), default=0.0),
            bm25_sentence=sentence_hits[0].score if sentence_hits else 0.0,
            bm25_chunk=chunk_hits[0].score if chunk_hits else 0.0,
            coverage1=self.store.query_coverage(query, top.sentence) if top else 0.0,
            coverage_chunk=self.store.query_coverage(query, chunk_text(self.store, top, texts))
            if top
            else 0.0,
        )


_WEIGHTED = WeightedSumRanker()


def _needs_exact_cosines(
    ranker: Ranker,
    ranked: list[Ranked],
    features: list[CandidateFeatures],
    bm25_only: set[tuple[str, int]],
) -> bool:
    """Whether a sentence the dense lists missed may be the best: the ranker's top, or the
    hand-set ranker's top (BM25 carries a missed sentence there even when a ranker that reads
    the dense floor as evidence against it does not), has no dense score of its own."""
    if ranked[0].features.key in bm25_only:
        return True
    if isinstance(ranker, WeightedSumRanker):
        return False  # the hand-set ranker's top is ranked[0]: already checked
    scores = _WEIGHTED.scores(features)
    best = min(range(len(features)), key=lambda n: (-scores[n], features[n].key))
    return features[best].key in bm25_only
