"""Query benchmark and quality check on the SQuAD bench set (extractive `ask`).

    python bench/query.py [--home DIR] [--limit N]

Ingests ../shared/bench/squad/articles.jsonl plus the seed into a fresh store (or uses
--home), warms up, then asks every question of questions-dev.jsonl and prints hit@1, hit@5,
MRR@10, abstention, latency p50/p95 and peak RSS.
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

from bench.common import SQUAD, default_corpus, machine, peak_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--out", help="write summary.json and per_question.jsonl here")
    args = parser.parse_args()

    from qa import Assistant
    from qa.eval.evaluate import evaluate, read_questions

    home = args.home or tempfile.mkdtemp(prefix="citeqa-bench-")
    assistant = Assistant(home=home)
    if assistant.store.is_empty():
        report = assistant.ingest([str(p) for p in default_corpus()])
        print(f"ingested: {report.summary()}")
    questions = read_questions(SQUAD / "questions-dev.jsonl")
    if args.limit:
        questions = questions[:: max(1, len(questions) // args.limit)]
    summary, rows = evaluate(questions, assistant.ask, warmup=20)
    summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(f"query benchmark on {machine()}")
    for key, value in summary.items():
        if key != "by_type":
            print(f"  {key:24} {value}")
    print(
        "targets: hit@1 >= 0.68, mrr@10 >= 0.76, abstained_unanswerable >= 0.80, "
        "answered_answerable >= 0.95, p50 <= 30 ms, p95 <= 80 ms"
    )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        with (out / "per_question.jsonl").open("w") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    assistant.close()


if __name__ == "__main__":
    main()
