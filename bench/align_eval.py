"""Choose and check word-piece alignment's weight and reach: the first sentence right after
reordering the ranker's best N (5, TOP_N and --top) by score + w × alignment, for several w.

    python bench/align_eval.py --set squad-train|squad|newsqa|samples [--home DIR] [--limit N]
                               [--top N] [--every-piece] [--out FILE]

Each answerable question is searched as a first question is (the ranker's order, before the
reader and alignment); its best sentences get their alignment score (the shipped path: the
export's int8 copy, qa/search/alignment.py) and the reader's score, and the figure is computed
offline for every weight and N. A question whose right sentence is not among them counts as a
miss ("reach" is the share that has it there); abstention is not applied.

Alignment has no trained part, so N and the weight are chosen on squad-train (the training set)
and checked on the dev sets and the sample set (bench/RESULTS.md, which also says where NewsQA
dev capped the weight). The reader was trained on squad-train, so its line there is in-sample.
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

WEIGHTS = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)


def gather(set_name: str, home: str, limit: int, top: int, every_piece: bool) -> list[dict]:
    """Per question: the ranker's scores of its best `top`, which are right, alignment and
    reader scores."""
    from qa import Assistant
    from qa.eval.evaluate import read_questions, spread
    from qa.search.alignment import TokenAligner
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
        aligner = TokenAligner(assistant.embedder, content_only=not every_piece)
        for number, q in enumerate(questions):
            head = assistant.searcher.search(q.question, max(10, top)).evidence[:top]
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


def first_right(
    rows: list[dict], weight: float, reader_weight: float, questions: int, head: int
) -> float:
    """The share of `questions` whose first sentence is right after reordering the best `head`."""
    hits = 0
    for r in rows:
        combined = (
            np.array(r["score"][:head])
            + weight * np.array(r["aligned"][:head])
            + reader_weight * np.array(r["reader"][:head])
        )
        hits += r["right"][int(np.argmax(combined))]
    return hits / questions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", required=True, choices=sorted(SETS))
    parser.add_argument("--home", help="a store of the set's corpus (default: throwaway)")
    parser.add_argument("--limit", type=int, default=0, help="questions, spread over the set")
    parser.add_argument("--out", help="write the per-question rows here (JSON)")
    parser.add_argument(
        "--top", type=int, default=0, help="also score reordering heads up to this size"
    )
    parser.add_argument(
        "--every-piece",
        action="store_true",
        help="align over every word piece of the question, not its content words only",
    )
    args = parser.parse_args()

    from qa.eval.evaluate import read_questions, spread
    from qa.search.alignment import TOP_N, WEIGHT

    top = max(args.top, TOP_N)
    home = args.home or tempfile.mkdtemp(prefix=f"citeqa-align-{args.set}-")
    rows = gather(args.set, home, args.limit, top, args.every_piece)
    if args.out:
        Path(args.out).write_text(json.dumps(rows))
    answerable = [q for q in read_questions(SETS[args.set][1]) if q.answerable]
    questions = len(spread(answerable, args.limit or None))
    heads = sorted({5, TOP_N, top})
    print(f"{args.set}: {questions} answerable questions")
    print("first sentence right after reordering the best N by score + w x alignment")
    print(f"  {'N':>3} {'reach':>7}" + "".join(f"{'w ' + str(w):>9}" for w in (0.0, *WEIGHTS)))
    for head in heads:
        reach = sum(any(r["right"][:head]) for r in rows) / questions
        figures = [first_right(rows, w, 0.0, questions, head) for w in (0.0, *WEIGHTS)]
        print(f"  {head:>3} {reach:>7.4f}" + "".join(f"{f:>9.4f}" for f in figures))
    both = first_right(rows, WEIGHT, 0.05, questions, TOP_N)
    print(f"  with the reader too (N {TOP_N}, w {WEIGHT}, reader 0.05): {both:.4f}")


if __name__ == "__main__":
    main()
