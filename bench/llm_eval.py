"""LLM mode with a real local model on NewsQA dev questions, against the extractive mode.

    python bench/llm_eval.py [--limit 100] [--llm llamacpp:smollm2] [--k 5] [--out DIR]

Ingests ../shared/bench/newsqa/dev-articles.jsonl into a throwaway store, takes `--limit`
questions evenly spread over dev-questions.jsonl and asks each one twice: extractive, and
through the chat model with its reply checked (qa.checked). Prints what the checker did to
the reply's sentences (kept with the model's own [n], moved to another evidence sentence,
attributed when uncited, dropped), the share of answers containing a gold answer string
(whitespace removed, casefolded) in both modes, and the latency to the model's first token,
to the first shown sentence and to the end. `--out` writes summary.json and
per_question.jsonl (raw reply, shown answer, each sentence's verdict).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import SHARED, machine, peak_rss_mb

NEWSQA = SHARED / "bench" / "newsqa"
VERDICTS = ("kept", "moved", "attributed", "dropped")


def squash(text: str) -> str:
    return "".join(text.split()).casefold()


def contains_gold(text: str, answers: list[str]) -> bool:
    shown = squash(text)
    return any(squash(a) and squash(a) in shown for a in answers)


def spread(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    if not limit or limit >= len(rows):
        return rows
    return [rows[i * len(rows) // limit] for i in range(limit)]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def timed_model(spec: str) -> tuple[Any, list[float]]:
    """The chat model of `spec`, recording when each streamed token arrives."""
    from qa.llamacpp import LlamaCppChat
    from qa.llm import chat_model_from_spec

    model = chat_model_from_spec(spec)
    marks: list[float] = []
    if not isinstance(model, LlamaCppChat):
        return model, marks

    class Timed(LlamaCppChat):
        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            for chunk in super()._stream(*args, **kwargs):
                marks.append(time.perf_counter())
                yield chunk

    settings = model.model_dump(
        include={
            "model_path",
            "n_ctx",
            "max_tokens",
            "n_batch",
            "n_threads",
            "temperature",
            "seed",
            "repeat_penalty",
        }
    )
    return Timed(**settings), marks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--llm", default="llamacpp:smollm2")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--home")
    parser.add_argument("--out")
    parser.add_argument("--rescore", help="a run's --out folder: check its replies again")
    args = parser.parse_args()
    if args.rescore:
        rescore(Path(args.rescore))
        return

    import qa.assistant
    from qa import Assistant
    from qa.checked import ReplyChecker

    checkers: list[ReplyChecker] = []
    original = qa.assistant.stream_checked

    def recording(deltas: Any, evidence: Any, checker: Any = None, **kwargs: Any) -> Any:
        checker = checker or ReplyChecker(evidence)
        checkers.append(checker)
        return original(deltas, evidence, checker, **kwargs)

    qa.assistant.stream_checked = recording
    model, marks = timed_model(args.llm)
    home = args.home or tempfile.mkdtemp(prefix="citeqa-llm-eval-")
    assistant = Assistant(home=home, llm=model)
    if assistant.store.is_empty():
        started = time.perf_counter()
        report = assistant.ingest([NEWSQA / "dev-articles.jsonl"])
        print(f"ingested: {report.summary()} in {time.perf_counter() - started:.0f} s")
    with (NEWSQA / "dev-questions.jsonl").open(encoding="utf-8") as handle:
        questions = spread([json.loads(line) for line in handle if line.strip()], args.limit)

    rows = []
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "per_question.jsonl").write_text("")
    for number, q in enumerate(questions, start=1):
        extractive = assistant.ask(q["question"], k=args.k, mode="extractive")
        checkers.clear()
        marks.clear()
        started = time.perf_counter()
        first_shown = None
        final = None
        for part in assistant.stream(q["question"], k=args.k, mode="llm"):
            if first_shown is None and part.text and not part.abstained:
                first_shown = time.perf_counter()
            final = part
        ended = time.perf_counter()
        assert final is not None
        checker = checkers[-1] if checkers else None
        row = {
            "id": q["id"],
            "question": q["question"],
            "answers": q["answers"],
            "extractive": extractive.text,
            "extractive_hit": contains_gold(
                "" if extractive.abstained else extractive.text, q["answers"]
            ),
            "searched": checker is not None,
            "shown": final.text,
            "abstained": final.abstained,
            "llm_hit": contains_gold("" if final.abstained else final.text, q["answers"]),
            "raw": checker.raw if checker else "",
            "raw_hit": contains_gold(checker.raw, q["answers"]) if checker else False,
            "verdicts": checker.verdicts if checker else [],
            "evidence": [e.sentence for e in checker.evidence] if checker else [],
            "first_token_ms": round((marks[0] - started) * 1000, 1) if marks else None,
            "first_shown_ms": round((first_shown - started) * 1000, 1) if first_shown else None,
            "total_ms": round((ended - started) * 1000, 1),
            "tokens": len(marks),
        }
        rows.append(row)
        if out:  # row by row: a long run can be read while it goes
            with (out / "per_question.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(
            f"{number:3}/{len(questions)} {row['total_ms']:7.0f} ms "
            f"{'+' if row['llm_hit'] else '-'}{'+' if row['extractive_hit'] else '-'} "
            f"{[v for v, _ in row['verdicts']]}",
            flush=True,
        )

    summary = summarize(rows, args)
    print(f"LLM mode on {machine()}: {args.llm}")
    for key, value in summary.items():
        print(f"  {key:32} {value}")
    if out:
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    assistant.close()


def rescore(folder: Path) -> None:
    """Run the current checker again over the replies a run recorded (its per_question.jsonl):
    the same model output, the checker before and after a change."""
    from qa.checked import ReplyChecker, render
    from qa.types import Evidence

    rows = [json.loads(line) for line in (folder / "per_question.jsonl").open(encoding="utf-8")]
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    hits_before = hits_after = 0
    for row in rows:
        before.update(v for v, _ in row["verdicts"])
        hits_before += row["llm_hit"]
        if not row["searched"]:
            continue
        evidence = [
            Evidence(f"e{n}", n, s, 0, len(s), 1.0, "", None, "", "")
            for n, s in enumerate(row["evidence"])
        ]
        checker = ReplyChecker(evidence)
        for word in re.findall(r"\S+\s*|\s+", row["raw"]):  # streamed, as the model did
            checker.feed(word)
        checker.finish()
        after.update(v for v, _ in checker.verdicts)
        text, citations = render(checker.checked, evidence)
        hits_after += bool(citations) and contains_gold(text, row["answers"])
        row["rescored"] = checker.verdicts
    for name, counts, hits in (("recorded", before, hits_before), ("now", after, hits_after)):
        total = sum(counts[v] for v in VERDICTS)
        shares = {v: round(counts[v] / total, 3) for v in counts if total}
        print(f"{name:9} sentences {total}: {shares}; answers with gold {hits}/{len(rows)}")
    with (folder / "rescored.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def summarize(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    counts = Counter(v for row in rows for v, _ in row["verdicts"])
    sentences = sum(counts[v] for v in VERDICTS)
    asked = [r for r in rows if r["searched"]]
    n = len(rows)
    return {
        "questions": n,
        "k": args.k,
        "sent_to_model": len(asked),
        "reply_sentences": sentences,
        **{f"share_{v}": round(counts[v] / sentences, 3) if sentences else None for v in VERDICTS},
        "abstention_sentences": counts["abstention"],
        "empty_pieces": counts["empty"],
        "answers_with_gold_extractive": round(sum(r["extractive_hit"] for r in rows) / n, 3),
        "answers_with_gold_llm_shown": round(sum(r["llm_hit"] for r in rows) / n, 3),
        "answers_with_gold_llm_raw": round(sum(r["raw_hit"] for r in rows) / n, 3),
        "llm_abstained": round(sum(r["abstained"] for r in rows) / n, 3),
        "first_token_ms_p50_p95": (
            percentile([r["first_token_ms"] for r in asked if r["first_token_ms"]], 0.5),
            percentile([r["first_token_ms"] for r in asked if r["first_token_ms"]], 0.95),
        ),
        "first_shown_ms_p50": percentile(
            [r["first_shown_ms"] for r in asked if r["first_shown_ms"]], 0.5
        ),
        "total_ms_p50_p95": (
            percentile([r["total_ms"] for r in asked], 0.5),
            percentile([r["total_ms"] for r in asked], 0.95),
        ),
        "tokens_per_reply_mean": round(statistics.mean([r["tokens"] for r in asked]), 1)
        if asked
        else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


if __name__ == "__main__":
    main()
