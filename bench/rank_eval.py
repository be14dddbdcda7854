"""The reader's figure for each ranker, in the same run: is the sentence cited [1] the answer?

    python bench/rank_eval.py [--sets squad,newsqa] [--limit N] [--home-squad DIR]
                              [--home-newsqa DIR] [--rankers weighted,learned] [--out FILE]

Each question is asked through `Assistant.ask` (extractive) once per ranker, the rankers
alternating question by question (`assistant.searcher.ranker = …`), so both see the same store
and the same machine load. Per ranker and set:

* first_cited_hit — the first cited sentence answers (an abstention on an answerable question
  is a miss). SQuAD: it contains a gold evidence sentence or is contained in one; NewsQA: it
  contains one of the answer strings (both after removing whitespace and casefolding).
* hit@1 — the top evidence sentence answers, whether or not the answer abstained.
* answered_answerable, abstained_unanswerable, latency p50/p95 of `ask`.

Sets: squad = ../shared/bench/squad/questions-dev.jsonl over its articles.jsonl + ../shared/seeds
(--limit N: N questions evenly spread); newsqa = newsqa/dev-questions.jsonl over
dev-articles.jsonl. These are for measuring only: nothing here is fitted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import SEEDS, SHARED, SQUAD

NEWSQA = SHARED / "bench" / "newsqa"


def rankers(names: list[str]) -> dict[str, Any]:
    from qa.search.learned import LearnedRanker
    from qa.search.rank import WeightedSumRanker

    made = {"weighted": WeightedSumRanker, "learned": LearnedRanker}
    return {
        name: LearnedRanker(name.split(":", 1)[1]) if name.startswith("learned:") else made[name]()
        for name in names
    }


def evaluate_set(
    name: str, home: str | None, limit: int, chosen: dict[str, Any], threshold: float | None
) -> dict[str, Any]:
    from qa import Assistant
    from qa.eval.evaluate import matches, read_questions, spread, squash

    if name == "squad":
        corpus = [SQUAD / "articles.jsonl", SEEDS]
        questions = spread(read_questions(SQUAD / "questions-dev.jsonl"), limit)

        def answers(q: Any, sentence: str) -> bool:
            return matches(sentence, q.evidence)
    else:
        corpus = [NEWSQA / "dev-articles.jsonl"]
        questions = spread(read_questions(NEWSQA / "dev-questions.jsonl"), limit)

        def answers(q: Any, sentence: str) -> bool:
            s = squash(sentence)
            return any(a and a in s for a in (squash(x) for x in q.answers))

    home = home or tempfile.mkdtemp(prefix=f"citeqa-rank-{name}-")
    kwargs: dict[str, Any] = {} if threshold is None else {"abstain_below": threshold}
    rows: dict[str, list[dict[str, Any]]] = {r: [] for r in chosen}
    with Assistant(home=home, **kwargs) as assistant:
        if assistant.store.is_empty():
            print(
                f"{name}: ingest {assistant.ingest([str(p) for p in corpus]).summary()}", flush=True
            )
        for q in questions[:10]:  # warm up every ranker
            for ranker in chosen.values():
                assistant.searcher.ranker = ranker
                assistant.ask(q.question)
        for number, q in enumerate(questions):
            for rname, ranker in chosen.items():
                assistant.searcher.ranker = ranker
                started = time.perf_counter()
                answer = assistant.ask(q.question)
                ms = (time.perf_counter() - started) * 1000
                first = answer.citations[0].sentence if answer.citations else ""
                top = answer.evidence[0].sentence if answer.evidence else ""
                rows[rname].append(
                    {
                        "id": q.id,
                        "answerable": q.answerable,
                        "abstained": answer.abstained,
                        "first_cited_hit": q.answerable
                        and not answer.abstained
                        and bool(first)
                        and answers(q, first),
                        "hit1": q.answerable and bool(top) and answers(q, top),
                        "confidence": answer.timings.get("confidence"),
                        "ms": ms,
                    }
                )
            if number % 200 == 0:
                print(f"  {name} {number}/{len(questions)}", flush=True)
    return {rname: summarise(r) for rname, r in rows.items()}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    ms = sorted(r["ms"] for r in rows)

    def mean(values: list[Any]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "first_cited_hit": mean([r["first_cited_hit"] for r in answerable]),
        "hit@1": mean([r["hit1"] for r in answerable]),
        "answered_answerable": mean([not r["abstained"] for r in answerable]),
        "abstained_unanswerable": mean([r["abstained"] for r in unanswerable]),
        "latency_p50_ms": round(statistics.median(ms), 2) if ms else None,
        "latency_p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2) if ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="squad,newsqa")
    parser.add_argument("--limit", type=int, default=0, help="questions per set (0: all)")
    parser.add_argument("--home-squad")
    parser.add_argument("--home-newsqa")
    parser.add_argument(
        "--rankers",
        default="weighted,learned",
        help="weighted, learned (the packaged model), learned:PATH",
    )
    parser.add_argument("--abstain-below", type=float, help="default: the Assistant's")
    parser.add_argument("--out", help="write the summary JSON here")
    args = parser.parse_args()
    chosen = rankers(args.rankers.split(","))
    homes = {"squad": args.home_squad, "newsqa": args.home_newsqa}
    summary: dict[str, Any] = {}
    for name in args.sets.split(","):
        summary[name] = evaluate_set(name, homes[name], args.limit, chosen, args.abstain_below)
        for rname, figures in summary[name].items():
            print(
                f"{name:7} {rname:9} " + "  ".join(f"{k} {v}" for k, v in figures.items()),
                flush=True,
            )
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
