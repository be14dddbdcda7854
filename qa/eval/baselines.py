"""Baselines for `citeqa eval --compare`: what citeqa's retrieval is measured against.

naive: the plain LangChain recipe (1000-character chunks, 200 overlap, the same MiniLM through
       HuggingFaceEmbeddings, Chroma, top 4); a hit is a chunk that contains a gold sentence
       (or an answer string, for answer-only questions).
bm25:  bm25s over the stored articles' sentences (English stopwords, Snowball stemmer).
dense: the same SentenceTransformerEmbedder over the same sentences, exact numpy cosine.
All run over the texts citeqa stored, on the same questions, judged by the same rule as
citeqa (qa.eval.matching), and never abstain: their first-citation hit is their top-1 hit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.eval.evaluate import Question, latency_metrics, ranking_metrics, split_by_type
from vectorstore.embed import Embedder, packaged_model_dir
from vectorstore.errors import CiteqaError
from vectorstore.ingest import Progress
from vectorstore.sentences import split_sentences

BASELINES = ("naive", "bm25", "dense")
NAIVE_K = 4  # LangChain's as_retriever() default
TOP = 10
WARMUP = 3
Search = Callable[[str], list[str]]


class BaselineError(RuntimeError, CiteqaError):
    """A baseline cannot run (unknown name, missing optional package)."""


@dataclass(frozen=True)
class BaselineRun:
    """One baseline's figures (same keys as citeqa's where meaningful) and per-question rows."""

    name: str
    summary: dict[str, Any]
    rows: tuple[dict[str, Any], ...]


def parse_names(spec: str | Sequence[str]) -> tuple[str, ...]:
    """ "naive,bm25" or ["naive", "bm25"] → validated names, in the order given."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    names = tuple(dict.fromkeys(p.strip().lower() for p in parts if p.strip()))
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise BaselineError(
            f"unknown baseline {', '.join(map(repr, unknown))}; choose from {','.join(BASELINES)}"
        )
    return names


def run_baselines(
    names: Sequence[str],
    questions: Sequence[Question],
    texts: Mapping[str, str],
    embedder: Embedder,
    progress: Progress,
    workdir: Path,
) -> list[BaselineRun]:
    """Build each baseline's index over `texts` (article id → stored text), then ask."""
    if not names:
        return []
    sentences = [s.text for aid, text in texts.items() for s in split_sentences(text, aid)]
    runs = []
    for name in names:
        started = time.perf_counter()
        if name == "naive":
            search, shown = _naive(texts, workdir / "naive", progress), NAIVE_K
        elif name == "bm25":
            search, shown = _bm25(sentences), 1
        else:
            search, shown = _dense(sentences, embedder, progress), 1
        index_s = round(time.perf_counter() - started, 2)
        run = _ask_all(name, search, shown, questions, progress.task(name, len(questions)))
        run.summary["index_s"] = index_s
        runs.append(run)
    return runs


def summarise_baseline(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    ranking = ranking_metrics(rows)
    return {
        "questions": len(rows),
        "answerable": sum(r["answerable"] for r in rows),
        "unanswerable": sum(not r["answerable"] for r in rows),
        "first_citation_hit": ranking["hit@1"],  # never abstains: what it shows first is [1]
        **ranking,
        **latency_metrics(rows),
        "chars_cited": round(sum(r["cited_chars"] for r in rows) / len(rows), 1) if rows else 0.0,
    }


def _ask_all(
    name: str,
    search: Search,
    shown: int,
    questions: Sequence[Question],
    advance: Callable[[int], None],
) -> BaselineRun:
    """Rank of the first unit that is a hit (the question's own rule); `shown` units are what
    a reader reads."""
    for q in questions[:WARMUP]:
        search(q.question)
    rows = []
    for q in questions:
        started = time.perf_counter()
        units = search(q.question)[:TOP]
        seconds = time.perf_counter() - started
        hit = q.matcher()
        rank = next((i for i, u in enumerate(units, 1) if hit(u)), None) if q.answerable else None
        rows.append(
            {
                "id": q.id,
                "type": q.type,
                "answerable": q.answerable,
                "rank": rank,
                "hit1": rank == 1,
                "hit5": rank is not None and rank <= 5,
                "hit10": rank is not None,
                "latency_ms": round(seconds * 1000, 2),
                "cited_chars": sum(len(u) for u in units[:shown]),
                "top": units[0] if units else "",
            }
        )
        advance(1)
    summary = summarise_baseline(rows)
    split_by_type(summary, rows, summarise_baseline)
    summary["shown"] = shown
    return BaselineRun(name, summary, tuple(rows))


def _bm25(sentences: list[str]) -> Search:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(sentences, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    k = min(TOP, len(sentences))

    def search(question: str) -> list[str]:
        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
        )
        found, _ = retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [sentences[int(i)] for i in found[0]]

    return search


def _dense(sentences: list[str], embedder: Embedder, progress: Progress) -> Search:
    matrix = embedder.embed_documents(sentences, progress.task("dense index", len(sentences)))
    k = min(TOP, len(sentences))

    def search(question: str) -> list[str]:
        scores = matrix @ embedder.embed_query(question)
        top = np.argpartition(-scores, k - 1)[:k]
        return [sentences[int(i)] for i in top[np.argsort(-scores[top])]]

    return search


def _naive(texts: Mapping[str, str], folder: Path, progress: Progress) -> Search:
    try:
        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter
    except ImportError as err:
        raise BaselineError(
            f"the naive baseline needs langchain-chroma, langchain-huggingface and "
            f"langchain-text-splitters ({err.name} is missing): pip install 'citeqa[baselines]'"
        ) from None
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = [c for text in texts.values() for c in splitter.split_text(text)]
    embeddings = HuggingFaceEmbeddings(model_name=str(packaged_model_dir()))
    store = Chroma(
        collection_name="naive",
        embedding_function=embeddings,
        persist_directory=str(folder),
        collection_metadata={"hnsw:space": "cosine"},
    )
    advance = progress.task("naive index", len(chunks))
    for begin in range(0, len(chunks), 256):
        store.add_texts(chunks[begin : begin + 256])
        advance(len(chunks[begin : begin + 256]))

    def search(question: str) -> list[str]:
        return [d.page_content for d in store.similarity_search(question, k=NAIVE_K)]

    return search
