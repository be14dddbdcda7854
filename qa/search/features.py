"""Stage 2: one typed row per candidate sentence, holding every signal the ranker sees.

BM25 scores are divided by the best among the candidates (a question's BM25 scale depends on
its words); a sentence or chunk no dense list returned gets that list's floor (see
`Candidates`). The lexical part is computed once per search; the dense part again when exact
cosines replace floors (`refresh_dense`).

Beyond the five signals `WeightedSumRanker` weighs, each row carries what a trained ranker
(`qa.search.learned`) reads: the sentence's place in its article (position, length, whether it
opens by referring back to the sentence before), the question's terms found in it and in the
sentence before, each list's rank, the kind of answer asked for, and its article's standing
among the candidates (best cosine and BM25, how many candidates it holds, its title's and lead
sentence's cosine with the question). Extra store reads are batched: one for the articles'
titles and sentence counts, one for the neighbouring sentences' rows, one BM25 call; titles and
leads are embedded once per article and sentences stemmed once (`FeatureCache`, LRUs kept
by the `Searcher`).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from qa.answer_type import NUMBER_KINDS, expected_kind, holds_kind
from qa.search.candidates import Candidates, Key
from qa.search.texts import ArticleTexts
from vectorstore.embed import Embedder
from vectorstore.lexical import tokenize
from vectorstore.store import ArticleStore

# A sentence opening with one of these leans on the sentence before for its subject.
_PRONOUN_OPENING = re.compile(
    r"^\W*(he|she|it|they|his|her|its|their|them|this|these|that|those|there|such|both)\b",
    re.I,
)
POSITION_CAP = 10  # past the lead, an index says little, and article lengths vary 10x
_COMMON_NOUN_OPENING = re.compile(r"^\W*[Tt]he\s+[a-z]")  # "The company said…", no name


@dataclass(frozen=True, slots=True)
class CandidateFeatures:
    """What the ranker knows about one candidate sentence.

    The first five signals are those `WeightedSumRanker` weighs; the rest (all floats, 0.0 when
    not computed) are read by the learned ranker. `FEATURE_NAMES` lists them in model order.
    """

    article_id: str
    sentence_index: int
    chunk: int
    dense_sentence: float  # cosine(question, sentence), or the dense list's floor
    dense_chunk: float  # cosine(question, the sentence's chunk), or the floor
    bm25_sentence: float  # BM25 of the sentence / the best candidate's
    bm25_chunk: float  # BM25 of the sentence's chunk / the best candidate chunk's
    answer_kind: float  # 1.0 when the sentence holds what the question asks for (a date…)
    # -- the question ------------------------------------------------------------------------
    asks_date: float = 0.0
    asks_number: float = 0.0
    asks_person: float = 0.0
    query_terms: float = 0.0  # number of (stemmed, non-stopword) question terms
    # -- the sentence ------------------------------------------------------------------------
    position: float = 0.0  # sentence index in its article, capped at POSITION_CAP
    is_first: float = 0.0
    relative_position: float = 0.0  # index / number of sentences in the article
    words: float = 0.0  # length in words
    refers_back: float = 0.0  # opens with a pronoun, demonstrative or "the" + common noun
    overlap: float = 0.0  # share of the question's terms in the sentence
    overlap_previous: float = 0.0  # the same for the sentence before (0 for the first)
    overlap_window: float = 0.0  # the same for the sentence and the one before together
    bm25_previous: float = 0.0  # BM25 of the sentence before / the best candidate's
    dense_previous: float = 0.0  # cosine of the sentence before (the floor when not listed)
    dense_next: float = 0.0  # cosine of the sentence after (the floor when not listed)
    # -- among the candidates ----------------------------------------------------------------
    rank_dense_sentence: float = 0.0  # 1 = best; ties share the better rank
    rank_dense_chunk: float = 0.0
    rank_bm25_sentence: float = 0.0
    rank_bm25_chunk: float = 0.0
    dense_gap: float = 0.0  # best candidate cosine − this one's
    # -- its article -------------------------------------------------------------------------
    article_dense: float = 0.0  # best sentence cosine among the article's candidates
    article_dense_chunk: float = 0.0  # best chunk cosine among them
    article_bm25: float = 0.0  # best normalised sentence BM25 among them
    article_bm25_chunk: float = 0.0  # best normalised chunk BM25 among them
    article_candidates: float = 0.0  # how many candidates the article holds
    article_rank: float = 0.0  # rank of the article by its best cosine (1 = best)
    article_overlap: float = 0.0  # share of question terms in any of its candidate sentences
    title_cosine: float = 0.0  # cosine(question, article title)
    lead_cosine: float = 0.0  # cosine(question, the article's first sentence)
    title_overlap: float = 0.0  # share of the question's terms in the title

    @property
    def key(self) -> tuple[str, int]:
        return (self.article_id, self.sentence_index)


_IDENTITY = ("article_id", "sentence_index", "chunk")
FEATURE_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(CandidateFeatures) if f.name not in _IDENTITY
)


def feature_matrix(rows: Sequence[CandidateFeatures]) -> np.ndarray:
    """rows × FEATURE_NAMES as float64 (the learned ranker's input)."""
    return np.array(
        [[getattr(r, name) for name in FEATURE_NAMES] for r in rows], dtype=np.float64
    ).reshape(len(rows), len(FEATURE_NAMES))


class FeatureCache:
    """What features reuse across searches, in small LRUs: each article's title and lead
    vectors (embedded once) and each sentence's stemmed terms.

    Keys never go stale: an article id is the hash of its text, so its sentences and lead never
    change under the same id (titles are part of the vector key). Thread-safe: searches may run
    in parallel.
    """

    def __init__(self, embedder: Embedder, articles: int = 4096, sentences: int = 50_000):
        self.embedder = embedder
        self.article_size = articles
        self.sentence_size = sentences
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._terms: OrderedDict[Key, frozenset[str]] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, wanted: dict[str, tuple[str, str]]) -> dict[str, np.ndarray]:
        """article id → (2, dim) [title vector, lead vector] for {id: (title, lead text)}."""
        out: dict[str, np.ndarray] = {}
        missing: dict[str, tuple[str, str]] = {}
        with self._lock:
            for article, (title, lead) in wanted.items():
                found = self._vectors.get((article, title))
                if found is None:
                    missing[article] = (title, lead)
                else:
                    self._vectors.move_to_end((article, title))
                    out[article] = found
        if missing:
            texts = [t or " " for pair in missing.values() for t in pair]
            vectors = self.embedder.embed_documents(texts)
            with self._lock:
                for n, (article, (title, _)) in enumerate(missing.items()):
                    pair = vectors[2 * n : 2 * n + 2]
                    out[article] = pair
                    self._vectors[(article, title)] = pair
                while len(self._vectors) > self.article_size:
                    self._vectors.popitem(last=False)
        return out

    def terms(self, key: Key, text: Callable[[Key], str]) -> frozenset[str]:
        """The stemmed terms of sentence `key` (its text from `text(key)` when not cached)."""
        with self._lock:
            found = self._terms.get(key)
        if found is None:
            found = frozenset(tokenize(text(key)))
            with self._lock:
                self._terms[key] = found
                if len(self._terms) > self.sentence_size:
                    self._terms.popitem(last=False)
        return found


def basic_features(
    store: ArticleStore, candidates: Candidates, texts: ArticleTexts
) -> list[CandidateFeatures]:
    """Only the five signals `WeightedSumRanker` weighs (the rest stay 0.0): a ranker that
    reads no more must not pay for titles, neighbours and ranks on every question."""
    query, rows = candidates.query, candidates.rows
    bm25_sentence = store.bm25_sentence_scores(query, rows)
    bm25_chunk = store.bm25_chunk_scores(query, {(a, row.chunk) for (a, _), row in rows.items()})
    best_sentence = max(bm25_sentence.values(), default=0.0) or 1.0
    best_chunk = max(bm25_chunk.values(), default=0.0) or 1.0
    kind = expected_kind(query)
    if kind:
        texts.load(article for article, _ in rows)
    sentences, chunks = candidates.dense_sentences, candidates.dense_chunks
    floor_s, floor_c = candidates.sentence_floor, candidates.chunk_floor
    out = []
    for key, row in rows.items():
        holds = bool(kind) and holds_kind(texts(key[0])[row.start : row.end], kind)
        out.append(
            CandidateFeatures(
                article_id=key[0],
                sentence_index=key[1],
                chunk=row.chunk,
                dense_sentence=sentences.get(key, floor_s),
                dense_chunk=chunks.get((key[0], row.chunk), floor_c),
                bm25_sentence=bm25_sentence.get(key, 0.0) / best_sentence,
                bm25_chunk=bm25_chunk.get((key[0], row.chunk), 0.0) / best_chunk,
                answer_kind=1.0 if holds else 0.0,
            )
        )
    return out


def candidate_features(
    store: ArticleStore,
    candidates: Candidates,
    texts: ArticleTexts,
    cache: FeatureCache | None = None,
) -> list[CandidateFeatures]:
    """Feature rows in the candidates' order. `cache` (the Searcher's) embeds titles and
    leads; without it their cosines are 0."""
    query, rows = candidates.query, candidates.rows
    articles_in = {article for article, _ in rows}
    previous = {(a, i - 1) for a, i in rows if i > 0}
    leads = {(a, 0) for a in articles_in}
    all_rows = {**store.sentence_rows((previous | leads) - rows.keys()), **rows}
    bm25_all = store.bm25_sentence_scores(query, rows.keys() | previous)
    bm25_chunk = store.bm25_chunk_scores(query, {(a, row.chunk) for (a, _), row in rows.items()})
    best_sentence = max((bm25_all.get(key, 0.0) for key in rows), default=0.0) or 1.0
    best_chunk = max(bm25_chunk.values(), default=0.0) or 1.0
    kind = expected_kind(query)
    texts.load(articles_in)
    meta = store.articles(articles_in)

    terms = frozenset(tokenize(query))
    n_terms = len(terms) or 1

    def sentence_text(key: Key) -> str:
        row = all_rows.get(key)
        return texts(key[0])[row.start : row.end] if row else ""

    def terms_of(key: Key) -> frozenset[str]:
        if key not in all_rows:
            return frozenset()
        if cache is None:
            return frozenset(tokenize(sentence_text(key))) & terms
        return cache.terms(key, sentence_text) & terms

    titles = {a: (meta[a].title if a in meta else "") for a in articles_in}
    title_overlap = {a: len(frozenset(tokenize(t)) & terms) / n_terms for a, t in titles.items()}
    title_cos: dict[str, float] = {}
    lead_cos: dict[str, float] = {}
    if cache is not None and articles_in:
        vectors = cache.vectors({a: (titles[a], sentence_text((a, 0))) for a in articles_in})
        for a, pair in vectors.items():
            cos = pair @ candidates.vector
            title_cos[a], lead_cos[a] = float(cos[0]), float(cos[1])

    lexical: list[dict[str, Any]] = []
    article_terms: dict[str, set[str]] = {}
    for key, row in rows.items():
        article, index = key
        sentence = sentence_text(key)
        own = terms_of(key)
        before = terms_of((article, index - 1)) if index > 0 else frozenset()
        article_terms.setdefault(article, set()).update(own)
        count = meta[article].sentences if article in meta else 0
        lexical.append(
            {
                "article_id": article,
                "sentence_index": index,
                "chunk": row.chunk,
                "bm25_sentence": bm25_all.get(key, 0.0) / best_sentence,
                "bm25_chunk": bm25_chunk.get((article, row.chunk), 0.0) / best_chunk,
                "answer_kind": 1.0 if kind and holds_kind(sentence, kind) else 0.0,
                "asks_date": float(kind == "date"),
                "asks_number": float(kind in NUMBER_KINDS),
                "asks_person": float(kind == "person"),
                "query_terms": float(len(terms)),
                "position": float(min(index, POSITION_CAP)),
                "is_first": float(index == 0),
                "relative_position": index / count if count else 0.0,
                "words": float(sentence.count(" ") + 1),
                "refers_back": float(_refers_back(sentence)),
                "overlap": len(own) / n_terms,
                "overlap_previous": len(before) / n_terms,
                "overlap_window": len(own | before) / n_terms,
                "bm25_previous": bm25_all.get((article, index - 1), 0.0) / best_sentence,
                "title_cosine": title_cos.get(article, 0.0),
                "lead_cosine": lead_cos.get(article, 0.0),
                "title_overlap": title_overlap[article],
            }
        )
    for values in lexical:
        values["article_overlap"] = len(article_terms[values["article_id"]]) / n_terms
    dense: list[dict[str, Any]] = _dense_part(
        [(v["article_id"], v["sentence_index"], v["chunk"]) for v in lexical],
        [v["bm25_sentence"] for v in lexical],
        [v["bm25_chunk"] for v in lexical],
        candidates,
    )
    return [CandidateFeatures(**v, **d) for v, d in zip(lexical, dense, strict=True)]


def _refers_back(sentence: str) -> bool:
    return bool(_PRONOUN_OPENING.match(sentence) or _COMMON_NOUN_OPENING.match(sentence))


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, higher value first; tied values share the better rank."""
    order = sorted(set(values), reverse=True)
    seen = 0
    place: dict[float, float] = {}
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    for v in order:
        place[v] = float(seen + 1)
        seen += counts[v]
    return [place[v] for v in values]


def _best_by(keys: Iterable[str], values: Iterable[float]) -> dict[str, float]:
    best: dict[str, float] = {}
    for k, v in zip(keys, values, strict=True):
        if v > best.get(k, -np.inf):
            best[k] = v
    return best


def _dense_part(
    keys: Sequence[tuple[str, int, int]],
    bm25_s: Sequence[float],
    bm25_c: Sequence[float],
    candidates: Candidates,
) -> list[dict[str, Any]]:
    """The dense signals of each (article, sentence, chunk) and everything derived from them
    and the candidate set: list ranks, the gap to the best cosine, the article's bests."""
    sentences, chunks = candidates.dense_sentences, candidates.dense_chunks
    floor_s, floor_c = candidates.sentence_floor, candidates.chunk_floor
    dense_s = [sentences.get((a, i), floor_s) for a, i, _ in keys]
    dense_c = [chunks.get((a, c), floor_c) for a, _, c in keys]
    ids = [a for a, _, _ in keys]
    best = max(dense_s, default=0.0)
    art_dense = _best_by(ids, dense_s)
    art_chunk = _best_by(ids, dense_c)
    art_bm25 = _best_by(ids, bm25_s)
    art_bm25_chunk = _best_by(ids, bm25_c)
    art_count: dict[str, int] = {}
    for a in ids:
        art_count[a] = art_count.get(a, 0) + 1
    art_order = sorted(art_dense, key=lambda a: (-art_dense[a], a))
    art_rank = {a: float(n + 1) for n, a in enumerate(art_order)}
    r_ds, r_dc, r_bs, r_bc = (_ranks(v) for v in (dense_s, dense_c, bm25_s, bm25_c))
    return [
        {
            "dense_sentence": dense_s[n],
            "dense_chunk": dense_c[n],
            "dense_previous": sentences.get((a, i - 1), floor_s) if i > 0 else 0.0,
            "dense_next": sentences.get((a, i + 1), floor_s),
            "rank_dense_sentence": r_ds[n],
            "rank_dense_chunk": r_dc[n],
            "rank_bm25_sentence": r_bs[n],
            "rank_bm25_chunk": r_bc[n],
            "dense_gap": best - dense_s[n],
            "article_dense": art_dense[a],
            "article_dense_chunk": art_chunk[a],
            "article_bm25": art_bm25[a],
            "article_bm25_chunk": art_bm25_chunk[a],
            "article_candidates": float(art_count[a]),
            "article_rank": art_rank[a],
        }
        for n, (a, i, _) in enumerate(keys)
    ]


def refresh_dense(
    features: list[CandidateFeatures], candidates: Candidates
) -> list[CandidateFeatures]:
    """The rows with their dense signals taken (again) from the candidates' dense scores,
    and everything derived from them (ranks, gaps, article bests) recomputed."""
    dense = _dense_part(
        [(f.article_id, f.sentence_index, f.chunk) for f in features],
        [f.bm25_sentence for f in features],
        [f.bm25_chunk for f in features],
        candidates,
    )
    return [replace(f, **d) for f, d in zip(features, dense, strict=True)]
