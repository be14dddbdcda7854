"""Ingest only, no peer: the SQuAD dev corpus + seed into a fresh store with the tree this file
is run from (or the tree given by `--tree`, to compare two checkouts in the same run).

    python bench/ingest_only.py [--tree DIR] [--home DIR]

Prints seconds, chars/s, sentences, and the seconds spent in the model and in Chroma's upserts.
The model is loaded and warmed before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
parser.add_argument("--home")
args = parser.parse_args()
sys.path.insert(0, args.tree)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import default_corpus  # noqa: E402
from vectorstore.embed import SentenceTransformerEmbedder  # noqa: E402
from vectorstore.ingest import ingest_paths  # noqa: E402
from vectorstore.settings import Settings  # noqa: E402
from vectorstore.store import open_store  # noqa: E402


def main() -> None:
    embedder = SentenceTransformerEmbedder()
    embedder.embed_documents(["warm up"])
    home = Path(args.home or tempfile.mkdtemp(prefix="citeqa-ingest-"))
    store = open_store(Settings(home=home), embedder)
    started = time.perf_counter()
    report = ingest_paths(store, embedder, [str(p) for p in default_corpus()])
    seconds = time.perf_counter() - started
    stats = store.stats()
    store.close()
    print(
        f"{args.tree}: {seconds:.1f} s, {stats.characters / seconds:,.0f} chars/s, "
        f"{stats.sentences} sentences, {len(report.added)} articles added; "
        f"model {report.extra.get('embed_seconds', 0.0):.1f} s, "
        f"Chroma {report.extra.get('chroma_seconds', 0.0):.1f} s, {stats.vectors} vectors in Chroma"
    )


if __name__ == "__main__":
    main()
