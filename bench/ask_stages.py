"""Where an answer's time goes: the median of each stage `Assistant.ask` times, over SQuAD dev
questions, on an existing store (to compare sizes, run it on each, alternating).

    python bench/ask_stages.py --home DIR [--questions 200] [--writer]

Stages (Answer.timings): embed (the question), dense (Chroma's nearest sentences), lexical
(BM25 over sentences and chunks), rank (features, exact scores, evidence), compose (the answer:
corrections and "also reported by" look each cited sentence up), total. The store is opened
read-only (questions through the ONNX export) unless `--writer` (torch, as `citeqa serve`).
"""

from __future__ import annotations

import argparse
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
    "total_ms",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--writer", action="store_true")
    args = parser.parse_args()

    from qa import Assistant
    from qa.eval.evaluate import read_questions, spread

    questions = [q for q in read_questions(SQUAD / "questions-dev.jsonl") if q.answerable]
    with Assistant(home=args.home, read_only=not args.writer) as assistant:
        articles = assistant.article_count()
        for q in spread(questions, 20):  # warm-up: caches, the index's first pages
            assistant.ask(q.question)
        timings = [assistant.ask(q.question).timings for q in spread(questions, args.questions)]
    print(f"{args.home}: {articles:,} articles, {len(timings)} questions")
    for stage in STAGES:
        values = [t[stage] for t in timings if stage in t]
        if values:
            median, mean = statistics.median(values), statistics.mean(values)
            print(f"  {stage:12} p50 {median:7.2f} ms   mean {mean:7.2f} ms")


if __name__ == "__main__":
    main()
