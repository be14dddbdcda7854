"""Hybrid retrieval of evidence sentences, and the LangChain retriever that exposes it.

Candidates come from four lists: dense sentences and dense chunks (Chroma), BM25 sentences and
BM25 chunks. Each candidate sentence is then scored with all four signals:

    score = cos(q, sentence) + W_DENSE_CHUNK * cos(q, chunk)
            + W_BM25_SENTENCE * bm25(sentence)/max + W_BM25_CHUNK * bm25(chunk)/max

The chunk terms give a sentence the context of its neighbours (SQuAD-style questions often
name the subject in the sentence before). Weights were fitted once on the whole SQuAD dev set
(bench/README.md). A sentence (or chunk) seen by no dense list gets the lowest dense score of
the list; when such a sentence found by BM25 ranks first, the BM25-only candidates get their
exact cosine instead where it is higher (HNSW is approximate and can miss them).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from qa.answer_type import expected_kind, holds_kind
from qa.filters import Filters
from qa.types import Evidence
from vectorstore.embed import Embedder
from vectorstore.manifest import Manifest, matching_ids
from vectorstore.store import ArticleStore
from vectorstore.types import StoredArticle

W_DENSE_CHUNK = 0.2
W_BM25_SENTENCE = 0.3
W_BM25_CHUNK = 0.3
W_ANSWER_KIND = 0.05
DENSE_SENTENCES = 50
DENSE_CHUNKS = 10
LEXICAL_SENTENCES = 50
LEXICAL_CHUNKS = 10
NEAR_DUPLICATE = 0.85
_WORDS = re.compile(r"\w+")


@dataclass
class SearchResult:
    evidence: list[Evidence]
    timings: dict[str, float] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)


class HybridSearcher:
    """Settings here, data in `search(query, k, filters)`."""

    def __init__(self, store: ArticleStore, embedder: Embedder):
        self.store = store
        self.embedder = embedder
        self._local = threading.local()

    @property
    def last_result(self) -> SearchResult | None:
        """This thread's latest result (its signals decide abstention)."""
        return getattr(self._local, "result", None)

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> SearchResult:
        filters = filters or Filters()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        timings["embed_ms"] = _ms(t0)

        t1 = time.perf_counter()
        where = filters.chroma_where()
        dense_s, dense_c = self.store.dense(vector, DENSE_SENTENCES, DENSE_CHUNKS, where)
        timings["dense_ms"] = _ms(t1)

        t2 = time.perf_counter()
        allowed = (
            None
            if filters.empty
            else matching_ids(
                self.store.manifest,
                filters.articles,
                filters.since.timestamp() if filters.since else None,
                filters.until.timestamp() if filters.until else None,
                filters.source,
            )
        )
        lexical_s = self.store.lexical_sentences.search(query, LEXICAL_SENTENCES, allowed)
        lexical_c = self.store.lexical_chunks.search(query, LEXICAL_CHUNKS, allowed)
        timings["lexical_ms"] = _ms(t2)

        t3 = time.perf_counter()
        dense_sentence = {(h.article_id, h.number): h.score for h in dense_s}
        dense_chunk = {(h.article_id, h.number): h.score for h in dense_c}
        candidates = set(dense_sentence) | {(a, n) for a, n, _ in lexical_s}
        chunk_ranges = self.store.manifest.chunk_sentences(
            [*dense_chunk, *((a, n) for a, n, _ in lexical_c)]
        )
        for (article, _), sentences in chunk_ranges.items():
            candidates.update((article, i) for i in sentences)
        if allowed is not None:
            candidates = {c for c in candidates if c[0] in allowed}
        rows = self.store.manifest.sentence_rows(candidates)
        lexical_sentence = self.store.lexical_sentences.scores_for(query, rows)
        lexical_chunk = self.store.lexical_chunks.scores_for(
            query, {(a, r[3]) for (a, _), r in rows.items()}
        )
        max_ls = max(lexical_sentence.values(), default=0.0) or 1.0
        max_lc = max(lexical_chunk.values(), default=0.0) or 1.0
        floor_s = min(dense_sentence.values(), default=0.0)
        floor_c = min(dense_chunk.values(), default=0.0)
        kind = expected_kind(query)
        texts = _ArticleTexts(self.store.manifest)  # each article's text read once per search
        if kind:
            texts.load({a for a, _ in rows})
        other_terms = {}  # all but the two dense terms, which a second pass may change
        for key, (start, end, _, chunk) in rows.items():
            bonus = W_ANSWER_KIND if kind and holds_kind(texts[key[0]][start:end], kind) else 0.0
            other_terms[key] = (
                W_BM25_SENTENCE * lexical_sentence.get(key, 0.0) / max_ls,
                W_BM25_CHUNK * lexical_chunk.get((key[0], chunk), 0.0) / max_lc,
                bonus,
            )
        scored = _ranked(rows, other_terms, dense_sentence, dense_chunk, floor_s, floor_c)
        bm25_only = {(a, n) for a, n, _ in lexical_s if (a, n) in rows} - dense_sentence.keys()
        if scored and scored[0][1] in bm25_only:
            dense_sentence, dense_chunk = self._missed_by_dense(
                vector,
                bm25_only,
                {(a, n) for a, n, _ in lexical_c},
                rows,
                (dense_sentence, floor_s),
                (dense_chunk, floor_c),
            )
            scored = _ranked(rows, other_terms, dense_sentence, dense_chunk, floor_s, floor_c)
        evidence = self._evidence(scored, rows, k, texts)
        timings["rank_ms"] = _ms(t3)
        lexical = self.store.lexical_sentences
        signals = {
            "dense": max(dense_sentence.values(), default=0.0),
            "bm25_sentence": lexical_s[0][2] if lexical_s else 0.0,
            "bm25_chunk": lexical_c[0][2] if lexical_c else 0.0,
            "coverage1": lexical.coverage(query, evidence[0].sentence) if evidence else 0.0,
            "coverage_chunk": lexical.coverage(query, self._chunk_text(evidence[0], texts))
            if evidence
            else 0.0,
        }
        result = SearchResult(evidence, timings, signals)
        self._local.result = result
        return result

    def _missed_by_dense(
        self,
        vector: np.ndarray,
        bm25_only: set[tuple[str, int]],
        bm25_chunks: set[tuple[str, int]],
        rows: dict[tuple[str, int], tuple[int, int, int, int]],
        sentences: tuple[dict[tuple[str, int], float], float],
        chunks: tuple[dict[tuple[str, int], float], float],
    ) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
        """The dense scores (with their floors), plus exact cosines for what BM25 found and the
        dense lists did not return.

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
        (dense_sentence, floor_s), (dense_chunk, floor_c) = sentences, chunks
        wanted = bm25_chunks | {(key[0], rows[key][3]) for key in bm25_only}
        wanted = {key for key in wanted if key not in dense_chunk}
        exact_s = self.store.sentence_similarities(vector, bm25_only)
        exact_c = self.store.chunk_similarities(vector, wanted) if wanted else {}
        return (
            {**{key: max(c, floor_s) for key, c in exact_s.items()}, **dense_sentence},
            {**{key: max(c, floor_c) for key, c in exact_c.items()}, **dense_chunk},
        )

    def _evidence(
        self,
        scored: list[tuple[float, tuple[str, int]]],
        rows: dict[tuple[str, int], tuple[int, int, int, int]],
        k: int,
        texts: _ArticleTexts,
    ) -> list[Evidence]:
        """Top k sentences, near-duplicates (same wording elsewhere) removed.

        Articles and texts are fetched a window of k * 3 candidates at a time: in a large
        archive the same sentence recurs in many articles (wire copy, boilerplate), and each
        copy would otherwise cost its own lookups before being dropped as a duplicate.
        """
        articles: dict[str, StoredArticle] = {}
        fetched: set[str] = set()
        chosen: list[Evidence] = []
        seen_words: list[frozenset[str]] = []
        seen_exact: set[frozenset[str]] = set()
        for position, (score, (article_id, index)) in enumerate(scored):
            if len(chosen) >= k:
                break
            if article_id not in fetched:
                window = {key[0] for _, key in scored[position : position + k * 3]} - fetched
                articles.update(self.store.manifest.articles(window))
                texts.load(window)
                fetched |= window
            meta = articles.get(article_id)
            if meta is None:
                continue
            start, end, paragraph, chunk = rows[(article_id, index)]
            sentence = texts[article_id][start:end]
            words = frozenset(_WORDS.findall(sentence.lower()))
            if words in seen_exact or any(
                _jaccard(words, other) >= NEAR_DUPLICATE for other in seen_words
            ):
                continue
            if words:  # no words: nothing to compare (as _jaccard says)
                seen_exact.add(words)
            seen_words.append(words)
            chosen.append(
                Evidence(
                    article_id=article_id,
                    sentence_index=index,
                    sentence=sentence,
                    start=start,
                    end=end,
                    score=float(score),
                    title=meta.title,
                    published=meta.published,
                    url=meta.url,
                    source=meta.source,
                    paragraph=paragraph,
                    chunk=chunk,
                )
            )
        return chosen

    def _chunk_text(self, evidence: Evidence, texts: _ArticleTexts) -> str:
        key = (evidence.article_id, evidence.chunk)
        span = self.store.manifest.chunk_sentences([key]).get(key)
        text = texts[evidence.article_id]
        if not span:
            return evidence.sentence
        rows = self.store.manifest.sentence_rows(
            [(evidence.article_id, span[0]), (evidence.article_id, span[-1])]
        )
        first, last = (
            rows.get((evidence.article_id, span[0])),
            rows.get((evidence.article_id, span[-1])),
        )
        return text[first[0] : last[1]] if first and last else evidence.sentence


class _ArticleTexts:
    """Article texts fetched from the manifest at most once per search."""

    def __init__(self, manifest: Manifest):
        self.manifest = manifest
        self.texts: dict[str, str] = {}

    def load(self, article_ids: set[str]) -> None:
        missing = article_ids - self.texts.keys()
        if missing:
            self.texts.update(self.manifest.texts(missing))

    def __getitem__(self, article_id: str) -> str:
        if article_id not in self.texts:
            self.texts[article_id] = self.manifest.text(article_id) or ""
        return self.texts[article_id]


class CiteqaRetriever(BaseRetriever):
    """A LangChain retriever returning evidence sentences as Documents.

    Each Document's page_content is one verbatim stored sentence; metadata carries the
    article id, title, date, url, sentence index, offsets and the fused score.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Any
    k: int = 10
    filters: Filters = Filters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.searcher.search(query, self.k, self.filters)
        return [evidence_document(e) for e in result.evidence]


def evidence_document(e: Evidence) -> Document:
    return Document(
        page_content=e.sentence,
        metadata={
            "article_id": e.article_id,
            "title": e.title,
            "published": e.published.isoformat() if e.published else None,
            "url": e.url,
            "source": e.source,
            "sentence_index": e.sentence_index,
            "start": e.start,
            "end": e.end,
            "score": e.score,
            "paragraph": e.paragraph,
            "chunk": e.chunk,
        },
    )


def _ranked(
    rows: dict[tuple[str, int], tuple[int, int, int, int]],
    other_terms: dict[tuple[str, int], tuple[float, float, float]],
    dense_sentence: dict[tuple[str, int], float],
    dense_chunk: dict[tuple[str, int], float],
    floor_s: float,
    floor_c: float,
) -> list[tuple[float, tuple[str, int]]]:
    """(score, key) best first; a candidate no dense list returned gets the list's floor."""
    scored = []
    for key, row in rows.items():
        bm25_sentence, bm25_chunk, bonus = other_terms[key]
        score = (
            dense_sentence.get(key, floor_s)
            + W_DENSE_CHUNK * dense_chunk.get((key[0], row[3]), floor_c)
            + bm25_sentence
            + bm25_chunk
            + bonus
        )
        scored.append((score, key))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return scored


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
