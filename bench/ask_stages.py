"""Where an answer's time goes: the median of each stage `Assistant.ask` times, over SQuAD dev
questions, on existing stores.

    python bench/ask_stages.py --home DIR [--home DIR2 ...] [--questions 200] [--writer]

With several stores (say 1 k and 100 k articles) all are opened in one process and each
question is asked of each store in turn, so the shared machine's slow spells fall on all of
them alike; the p50 of each store is then printed as a ratio to the first's (issue 21's
"ask p50 at 100 k <= 1.5x the 1 k figure").

Stages (Answer.timings): embed (the question), dense (Chroma's nearest sentences), lexical
(BM25 over sentences and chunks), rank (features, exact scores, evidence), compose (the answer:
corrections and "also reported by" look each cited sentence up), align and read (word-piece
alignment and the sentence reader score the best five together on both cores: align is until
alignment's scores are in, read until both are; `CITEQA_ALIGN=0` / `CITEQA_READER=0` leave one
out), total. The store is opened
read-only (questions through the ONNX export) unless `--writer` (torch, as `citeqa serve`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import SQUAD

STAGES = (
    "embed_ms",
    "dense_ms",
    "lexical_ms",
    "lexical_wait_ms",
    "rank_ms",
    "compose_ms",
    "align_ms",
    "read_ms",
    "total_ms",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True, action="append")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--writer", action="store_true")
    args = parser.parse_args()

    from qa import Assistant
    from qa.eval.evaluate import read_questions, spread

    questions = [q for q in read_questions(SQUAD / "questions-dev.jsonl") if q.answerable]
    with contextlib.ExitStack() as stack:
        assistants = [
            stack.enter_context(Assistant(home=home, read_only=not args.writer))
            for home in args.home
        ]
        for q in spread(questions, 20):  # warm-up: caches, the index's first pages
            for assistant in assistants:
                assistant.ask(q.question)
        timings: list[list[dict[str, float]]] = [[] for _ in assistants]
        for q in spread(questions, args.questions):
            for assistant, taken in zip(assistants, timings, strict=True):
                taken.append(assistant.ask(q.question).timings)
        articles = [assistant.article_count() for assistant in assistants]
    first = statistics.median(t["total_ms"] for t in timings[0])
    for home, count, taken in zip(args.home, articles, timings, strict=True):
        print(f"{home}: {count:,} articles, {len(taken)} questions")
        for stage in STAGES:
            values = [t[stage] for t in taken if stage in t]
            if values:
                median, mean = statistics.median(values), statistics.mean(values)
                print(f"  {stage:15} p50 {median:7.2f} ms   mean {mean:7.2f} ms")
        total = statistics.median(t["total_ms"] for t in taken)
        print(f"  total p50 / the first store's: {total / first:.2f}x")


if __name__ == "__main__":
    main()
