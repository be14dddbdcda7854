"""What holds `citeqa serve`'s memory: the resident set after each part is loaded, in the
order serve loads them, in one fresh process over an existing store (issue 21 item 1).

    python bench/serve_memory.py --home DIR [--questions 50] [--read-only]

Parts: the interpreter with numpy; the web app's libraries (Gradio and citeqa's UI); the
query encoder (the ONNX export's int8 copy, one query embedded; sentence-transformers where
there is no export); the manifest; the
BM25 sentence and chunk indexes; Chroma's client, then its HNSW index (loaded by the first
query); then answering `--questions` SQuAD dev questions (caches, candidates). Each row is the
growth of VmRSS over the row before, and the peak (VmHWM) at the end. `--read-only` measures
a reader (`citeqa --read-only serve`); either way questions go through the export and torch
is not loaded. The parts are opened read-only either way. The BM25 postings stay in their
files (vectorstore/mapped_npz.py): searches of the large segments read them with pread, so they
count in the page cache, not here.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np

from bench.common import status_mb


class Ledger:
    """Resident memory after each step, and each step's growth."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []
        self.last = status_mb("VmRSS")
        self.rows.append(("interpreter, numpy", self.last, self.last))

    def step(self, name: str) -> None:
        gc.collect()
        now = status_mb("VmRSS")
        self.rows.append((name, now - self.last, now))
        self.last = now

    def print(self) -> None:
        print(f"{'part':44}{'+MB':>9}{'RSS MB':>9}")
        for name, grew, total in self.rows:
            print(f"{name:44}{grew:>9,.0f}{total:>9,.0f}")
        print(f"{'peak (VmHWM)':44}{'':>9}{status_mb('VmHWM'):>9,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--read-only", action="store_true", help="measure a reader")
    args = parser.parse_args()
    home = Path(args.home)
    ledger = Ledger()

    import gradio  # noqa: F401

    import ui.app  # noqa: F401
    from qa import Assistant

    ledger.step("Gradio, citeqa's UI and answering code")

    from vectorstore.embed import FastStartEmbedder

    # every answering process, writer or reader, embeds questions as citeqa serve does: the
    # ONNX export's int8 copy when there is one (torch loads only when an article is embedded)
    embedder = FastStartEmbedder()
    probe = embedder.embed_query("warm up")
    ledger.step(f"query encoder ({embedder.query_runtime}), one query")

    from vectorstore.chroma_store import ChromaVectors
    from vectorstore.lexical import LexicalIndex
    from vectorstore.manifest import Manifest

    manifest = Manifest(home / "manifest.sqlite3")
    ledger.step("manifest (SQLite)")
    sentences = LexicalIndex(home / "bm25" / "sentences", read_only=True)
    ledger.step(f"BM25 sentences ({len(sentences):,} rows)")
    chunks = LexicalIndex(home / "bm25" / "chunks", read_only=True)
    ledger.step(f"BM25 chunks ({len(chunks):,} rows)")
    vectors = ChromaVectors(path=home / "chroma", read_only=True)
    ledger.step("Chroma client, collection opened")
    vectors.query(vectors.sentences, np.asarray(probe), 10, None)
    ledger.step(f"Chroma HNSW index, first query ({vectors.count():,} vectors)")
    vectors.close()
    manifest.close()
    del sentences, chunks, vectors, manifest, embedder
    ledger.step("(the parts above released)")

    from bench.common import SQUAD
    from qa.eval.evaluate import read_questions, spread

    assistant = Assistant(home=home, read_only=args.read_only)
    ledger.step("Assistant over the store (all parts again)")
    questions = [q for q in read_questions(SQUAD / "questions-dev.jsonl") if q.answerable]
    for q in spread(questions, args.questions):
        assistant.ask(q.question)
    ledger.step(f"{args.questions} questions answered")
    assistant.close()
    ledger.print()


if __name__ == "__main__":
    main()
