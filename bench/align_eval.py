"""Choose and check word-piece alignment's weight: the first sentence right after reordering the
ranker's best TOP_N by score + w × alignment (+ the reader's 0.05 × its score), for several w.

    python bench/align_eval.py --set squad-train|squad|newsqa|samples [--home DIR] [--limit N]
                               [--out FILE]

Each answerable question is searched as a first question is (the ranker's order, before the
reader and alignment); its best TOP_N sentences get their alignment score (the shipped path:
the export's int8 copy, qa/search/alignment.py) and the reader's score, and the figure is
computed offline for every weight. A question whose right sentence is not among them counts as a
miss; abstention is not applied (it is decided on the ranker's best sentence either way).

Alignment has no trained part, so its weight is chosen on squad-train (the training set) and
only checked on the dev sets and the sample set (bench/RESULTS.md). The reader was trained on
squad-train, so the "+ reader" column there is in-sample.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np

from bench.abstain_data import SETS

WEIGHTS = (0.5, 1.0, 2.0, 3.0)


def gather(set_name: str, home: str, limit: int) -> list[dict]:
    """Per question: the ranker's scores of its best TOP_N, which are right, alignment and
    reader scores."""
    from qa import Assistant
    from qa.eval.evaluate import read_questions, spread
    from qa.search.alignment import TOP_N, TokenAligner
    from qa.search.head import passage
    from qa.search.reader import packaged_reader
    from vectorstore.settings import Settings

    corpus, question_file = SETS[set_name]
    questions = [q for q in read_questions(question_file) if q.answerable]
    questions = spread(questions, limit or None)
    settings = Settings.from_env(home=home, reader=False, align=False)
    reader = packaged_reader()
    rows = []
    with Assistant(settings=settings) as assistant:
        if assistant.store.is_empty():
            print(assistant.ingest([str(p) for p in corpus]).summary(), flush=True)
        aligner = TokenAligner(assistant.embedder)
        for number, q in enumerate(questions):
            head = assistant.searcher.search(q.question, 10).evidence[:TOP_N]
            if not head:
                continue
            right = q.matcher()
            passages = [passage(e.title, e.sentence) for e in head]
            rows.append(
                {
                    "score": [e.score for e in head],
                    "right": [bool(right(e.sentence)) for e in head],
                    "aligned": aligner.scores(q.question, passages).tolist(),
                    "reader": reader.scores(q.question, passages).tolist(),
                }
            )
            if number % 500 == 0:
                print(f"  {number}/{len(questions)}", flush=True)
    return rows


def first_right(rows: list[dict], weight: float, reader_weight: float, questions: int) -> float:
    hits = 0
    for r in rows:
        combined = (
            np.array(r["score"])
            + weight * np.array(r["aligned"])
            + reader_weight * np.array(r["reader"])
        )
        hits += r["right"][int(np.argmax(combined))]
    return hits / questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", required=True, choices=sorted(SETS))
    parser.add_argument("--home", help="a store of the set's corpus (default: throwaway)")
    parser.add_argument("--limit", type=int, default=0, help="questions, spread over the set")
    parser.add_argument("--out", help="write the per-question rows here (JSON)")
    args = parser.parse_args()

    from qa.eval.evaluate import read_questions, spread

    home = args.home or tempfile.mkdtemp(prefix=f"citeqa-align-{args.set}-")
    rows = gather(args.set, home, args.limit)
    if args.out:
        Path(args.out).write_text(json.dumps(rows))
    answerable = [q for q in read_questions(SETS[args.set][1]) if q.answerable]
    questions = len(spread(answerable, args.limit or None))
    reach = sum(any(r["right"]) for r in rows) / questions
    print(f"{args.set}: {questions} answerable questions, right among the best 5: {reach:.4f}")
    print(f"  {'weight':>8} {'alignment':>10} {'+ reader':>10}")
    for weight in (0.0, *WEIGHTS):
        alone = first_right(rows, weight, 0.0, questions)
        both = first_right(rows, weight, 0.05, questions)
        print(f"  {weight:>8} {alone:>10.4f} {both:>10.4f}")


if __name__ == "__main__":
    main()
