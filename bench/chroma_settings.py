"""Chroma's share of ingest: upsert batch size and HNSW settings, measured at scale.

    python bench/chroma_settings.py [--size 300000] [--configs default,flush10k,...]
                                    [--questions 200] [--jitter 0.025] [--work DIR]

Each configuration fills a fresh embedded Chroma collection with the same `--size` vectors, the
way citeqa's ingest does (upserts of `upsert` rows with the three filter fields citeqa stores),
and reports: the fill's time per vector overall and over its last tenth (the marginal cost at
that size), disk, peak RSS, query p50, and dense recall@10 / recall@50 against exact search
(numpy) for SQuAD dev questions embedded by the real model.

The vectors: the unique sentences of the SQuAD dev corpus embedded by the real model, laid out
in synthetic articles exactly as `bench/scale.py` does (3 random paragraphs each). At 100 k
articles that repeats each sentence ~170 times, which no real archive does and which makes
exact top-10s all ties; `--jitter` adds Gaussian noise of that standard deviation per component
to each copy (0.025 keeps a copy's cosine to its sentence at ~0.89), so the index holds
distinct vectors clustered like paraphrases. `--jitter 0` gives scale.py's exact copies.
Recall counts a returned neighbour as right when its exact cosine reaches the exact k-th best
(ties therefore do not matter).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import SQUAD, machine, peak_rss_mb, run_child

CONFIGS: dict[str, dict] = {
    # name: HNSW configuration (Chroma 1.x keys) plus "upsert", the rows per upsert call, and
    # "fields", how many of citeqa's filter fields each row carries (3 unless set)
    "default": {},  # what citeqa used: M 16, ef_construction 100, batch 100, sync 1000, max batch
    "upsert1k": {"upsert": 1000},
    "flush1k": {"batch_size": 1000},
    "flush10k": {"batch_size": 10000, "sync_threshold": 10000},
    "sync100k": {"batch_size": 10000, "sync_threshold": 100000},
    "efc50": {"ef_construction": 50},
    "efc200": {"ef_construction": 200},  # a better-connected graph, for recall at 1.5 M
    "efc400": {"ef_construction": 400},
    "m12": {"max_neighbors": 12},
    "m12efc50": {"max_neighbors": 12, "ef_construction": 50},
    "flush10k_efc50": {"batch_size": 10000, "sync_threshold": 10000, "ef_construction": 50},
    "nometa": {"fields": 0},  # what the three filter fields cost
    "onefield": {"fields": 1},  # article_id only
}
FIELDS = ("article_id", "published_ts", "source")


def article_layout(size: int, sentences_of: list[list[int]], seed: int = 7) -> np.ndarray:
    """Row numbers into the unique-sentence vectors, article after article (as bench/synth.py)."""
    rows: list[int] = []
    for number in range(size):
        rng = random.Random(seed * 1_000_003 + number)
        for p in rng.sample(range(len(sentences_of)), 3):
            rows.extend(sentences_of[p])
            if len(rows) >= size:
                return np.asarray(rows[:size])
    return np.asarray(rows[:size])


def build_inputs(work: Path, questions: int) -> None:
    """Embed the pool's unique sentences and the questions once (the real model)."""
    if (work / "pool.npy").exists():
        return
    from bench.synth import pool
    from qa.eval.evaluate import read_questions, spread
    from vectorstore.embed import SentenceTransformerEmbedder
    from vectorstore.sentences import split_sentences

    texts: dict[str, int] = {}
    sentences_of = []
    for _, paragraph in pool():
        sentences_of.append(
            [texts.setdefault(s.text, len(texts)) for s in split_sentences(paragraph)]
        )
    model = SentenceTransformerEmbedder()
    vectors = model.embed_documents(list(texts))
    asked = [q for q in read_questions(SQUAD / "questions-dev.jsonl") if q.answerable]
    query_vectors = np.vstack([model.embed_query(q.question) for q in spread(asked, questions)])
    work.mkdir(parents=True, exist_ok=True)
    np.save(work / "pool.npy", vectors.astype(np.float32))
    np.save(work / "questions.npy", query_vectors.astype(np.float32))
    (work / "layout.json").write_text(json.dumps(sentences_of))


def corpus_vectors(work: Path, size: int, jitter: float) -> np.ndarray:
    pool_vectors = np.load(work / "pool.npy")
    rows = article_layout(size, json.loads((work / "layout.json").read_text()))
    vectors = pool_vectors[rows]
    if jitter > 0:
        rng = np.random.default_rng(11)
        vectors = vectors + rng.normal(0.0, jitter, vectors.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def exact_kth(vectors: np.ndarray, queries: np.ndarray, ks: tuple[int, ...]) -> np.ndarray:
    """The exact k-th best cosine of each query, for each k (blocks keep memory flat)."""
    best = np.full((len(queries), max(ks)), -2.0, dtype=np.float32)
    for begin in range(0, len(vectors), 200_000):
        scores = queries @ vectors[begin : begin + 200_000].T
        joined = np.concatenate([best, scores], axis=1)
        best = -np.sort(-joined, axis=1)[:, : max(ks)]
    return np.stack([best[:, k - 1] for k in ks], axis=1)


def recall_and_latency(
    collection: Any, queries: np.ndarray, kth: np.ndarray, ks: tuple[int, ...]
) -> dict:
    """Query p50 and recall@k against exact search (a neighbour reaching the k-th best counts)."""
    recalls: dict[int, list[float]] = {k: [] for k in ks}
    latencies = []
    for q, query in enumerate(queries):
        began = time.perf_counter()
        found = collection.query(
            query_embeddings=[query], n_results=max(ks), include=["embeddings"]
        )
        latencies.append(time.perf_counter() - began)
        got = np.asarray(found["embeddings"][0], dtype=np.float32) @ query
        for j, k in enumerate(ks):
            recalls[k].append(float(np.sum(got[:k] >= kth[q, j] - 1e-5)) / k)
    return {
        "query_p50_ms": round(1000 * float(np.median(latencies)), 2),
        **{f"recall@{k}": round(float(np.mean(recalls[k])), 4) for k in ks},
    }


def child_fill(
    work: str, name: str, size: int, jitter: float, ef_searches: tuple[int, ...]
) -> dict:
    """Fill one fresh collection with one configuration; time it; query it."""
    import chromadb
    from chromadb.api.client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    config = dict(CONFIGS[name])
    folder = Path(tempfile.mkdtemp(prefix=f"chroma-{name}-", dir=work))
    vectors = corpus_vectors(Path(work), size, jitter)
    queries = np.load(Path(work) / "questions.npy")
    client = chromadb.PersistentClient(
        path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
    )
    upsert = int(config.pop("upsert", client.get_max_batch_size()))
    fields = int(config.pop("fields", len(FIELDS)))
    collection = client.create_collection(
        name="bench", embedding_function=None, configuration={"hnsw": {"space": "cosine", **config}}
    )
    ids = [f"a{i // 15}:{i % 15}" for i in range(size)]
    marks, started = [], time.perf_counter()
    for begin in range(0, size, upsert):
        end = min(begin + upsert, size)
        rows: list[Any] = [
            {"article_id": f"a{i // 15}", "published_ts": 1_500_000_000 + i, "source": "bench"}
            for i in range(begin, end)
        ]
        metadata: Any = [{f: row[f] for f in FIELDS[:fields]} for row in rows] if fields else None
        collection.upsert(ids=ids[begin:end], embeddings=vectors[begin:end], metadatas=metadata)
        marks.append((end, time.perf_counter() - started))
    total = marks[-1][1]
    tenth = next(t for n, t in marks if n >= size * 0.9)
    ks = (10, 50)
    kth = exact_kth(vectors, queries, ks)
    measured = {}
    for ef in ef_searches:
        # Chroma reads ef_search when it loads the index: a modified value applies to a client
        # opened afterwards, never to the index already in memory, so reopen for each value.
        collection.modify(configuration={"hnsw": {"ef_search": ef}})
        del collection, client
        SharedSystemClient.clear_system_cache()
        client = chromadb.PersistentClient(
            path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
        )
        collection = client.get_collection(name="bench", embedding_function=None)
        measured[ef] = recall_and_latency(collection, queries, kth, ks)
    disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "config": name,
        "settings": CONFIGS[name],
        "size": size,
        "fill_s": round(total, 1),
        "ms_per_vector": round(1000 * total / size, 3),
        "ms_per_vector_last_tenth": round(1000 * (total - tenth) / (size - size * 0.9), 3),
        **{f"ef{ef}": m for ef, m in measured.items()},
        "disk_mb": round(disk),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=300_000, help="vectors per collection")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--jitter", type=float, default=0.025)
    parser.add_argument("--work", type=Path, default=None, help="keeps the embedded inputs")
    parser.add_argument("--out", type=Path, default=None, help="append results as JSON lines")
    parser.add_argument("--ef-search", default="100,200", help="query-time ef values to try")
    parser.add_argument("--child-fill", nargs=5, metavar=("WORK", "NAME", "SIZE", "JITTER", "EF"))
    args = parser.parse_args()
    if args.child_fill:
        work, name, size, jitter, efs = args.child_fill
        ef_searches = tuple(int(e) for e in efs.split(","))
        print(json.dumps(child_fill(work, name, int(size), float(jitter), ef_searches)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="citeqa-chroma-settings-"))
    build_inputs(work, args.questions)
    print(f"# {machine()}; {args.size:,} vectors, jitter {args.jitter}", flush=True)
    for name in args.configs.split(","):
        if name not in CONFIGS:
            raise SystemExit(f"unknown config {name!r}; known: {', '.join(CONFIGS)}")
        result = run_child(
            [
                __file__,
                "--child-fill",
                str(work),
                name,
                str(args.size),
                str(args.jitter),
                args.ef_search,
            ]
        )
        print(json.dumps(result), flush=True)
        if args.out:
            with args.out.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
