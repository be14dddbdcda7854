"""Ingest benchmark: citeqa vs the plain LangChain pipeline, same corpus, same model, same run.

    python bench/ingest.py [--repeat N] [PATH ...]
                                  (default: ../shared/bench/squad/articles.jsonl + seed)

Each side runs in its own process (so peak RSS is its own) on a fresh store; model loading is
timed separately from ingesting. Prints chars/s, sentences/s, peak RSS, wall time and the ratio.
With --repeat N the two sides alternate N times and each side's fastest run is reported (on a
shared machine the slow runs measure the neighbours); every round's ratio is printed too.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import default_corpus, machine, peak_rss_mb, run_child


def citeqa_side(paths: list[str]) -> dict:
    from vectorstore.embed import SentenceTransformerEmbedder
    from vectorstore.ingest import ingest_paths
    from vectorstore.settings import Settings
    from vectorstore.store import open_store

    t0 = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    load = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as home:
        store = open_store(Settings(home=Path(home)), embedder)
        t1 = time.perf_counter()
        report = ingest_paths(store, embedder, paths)
        wall = time.perf_counter() - t1
        stats = store.stats()
        store.close()
    return {
        "load_s": load,
        "ingest_s": wall,
        "chars": stats.characters,
        "sentences": stats.sentences,
        "chunks": stats.chunks,
        "articles": stats.articles,
        "failed": len(report.failed),
        "precision": embedder.precision,
        "peak_rss_mb": peak_rss_mb(),
    }


def langchain_side(paths: list[str]) -> dict:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from vectorstore.embed import packaged_model_dir
    from vectorstore.loaders import find_files, load_file
    from vectorstore.types import Article

    t0 = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=str(packaged_model_dir()))
    load = time.perf_counter() - t0
    t1 = time.perf_counter()
    documents = []
    for path in find_files(paths):
        if isinstance(path, Path):
            for article in load_file(path):
                if isinstance(article, Article):
                    documents.append(
                        Document(page_content=article.text, metadata={"title": article.title})
                    )
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(documents)
    with tempfile.TemporaryDirectory() as folder:
        Chroma.from_documents(chunks, embeddings, persist_directory=folder)
    wall = time.perf_counter() - t1
    return {
        "load_s": load,
        "ingest_s": wall,
        "chars": sum(len(d.page_content) for d in documents),
        "chunks": len(chunks),
        "embedded_chars": sum(len(c.page_content) for c in chunks),
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] in ("--citeqa", "--langchain"):
        paths = json.loads(sys.argv[2])
        side = citeqa_side if sys.argv[1] == "--citeqa" else langchain_side
        print(json.dumps(side(paths)))
        return
    args = sys.argv[1:]
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return
    repeat = 1
    if args[:1] == ["--repeat"]:
        repeat, args = max(1, int(args[1])), args[2:]
    paths = [str(p) for p in (args or default_corpus())]
    print(f"ingest benchmark on {machine()}\ncorpus: {', '.join(paths)}")
    rounds = []
    for _ in range(repeat):
        rounds.append(
            (
                run_child([__file__, "--citeqa", json.dumps(paths)]),
                run_child([__file__, "--langchain", json.dumps(paths)]),
            )
        )
    ours = min((r[0] for r in rounds), key=lambda run: run["ingest_s"])
    base = min((r[1] for r in rounds), key=lambda run: run["ingest_s"])
    print(f"\n{'':28}{'citeqa':>14}{'LangChain':>14}")
    rows = [
        ("articles / chunks", f"{ours['articles']} / {ours['chunks']}", f"- / {base['chunks']}"),
        ("sentences", ours["sentences"], "-"),
        ("characters embedded", ours["chars"], base["embedded_chars"]),
        ("model load (s)", f"{ours['load_s']:.1f}", f"{base['load_s']:.1f}"),
        ("ingest wall time (s)", f"{ours['ingest_s']:.1f}", f"{base['ingest_s']:.1f}"),
        (
            "chars/s",
            f"{ours['chars'] / ours['ingest_s']:,.0f}",
            f"{base['chars'] / base['ingest_s']:,.0f}",
        ),
        ("sentences/s", f"{ours['sentences'] / ours['ingest_s']:,.0f}", "-"),
        ("peak RSS (MB)", f"{ours['peak_rss_mb']:,.0f}", f"{base['peak_rss_mb']:,.0f}"),
    ]
    for name, a, b in rows:
        print(f"{name:28}{a!s:>14}{b!s:>14}")
    print(
        f"\nciteqa precision: {ours['precision']}; speed-up vs LangChain pipeline: "
        f"{base['ingest_s'] / ours['ingest_s']:.2f}x (target >= 2x)"
    )
    if repeat > 1:
        print(
            "rounds (citeqa s / LangChain s = ratio): "
            + ", ".join(
                f"{a['ingest_s']:.1f} / {b['ingest_s']:.1f} = {b['ingest_s'] / a['ingest_s']:.2f}x"
                for a, b in rounds
            )
        )


if __name__ == "__main__":
    main()
