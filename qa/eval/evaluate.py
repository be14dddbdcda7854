"""Evaluate answers against a question set: plain dicts in, `{metric: value}` out.

A sentence is a hit (qa.eval.matching) when it contains a gold evidence sentence or is
contained in one; for a question with answers and no evidence (NewsQA), when it contains one of
the answer strings. Both compare after removing all whitespace and case folding.

The reader's figure is `first_citation_hit`: the share of answerable questions whose citation
[1] is a hit, an abstention counting as a miss. hit@k and MRR rank the answer's evidence list,
which an abstaining answer still carries, so they measure retrieval, not what a reader is told.
`run_eval` is the whole `citeqa eval`: store (throwaway with a corpus), questions, baselines,
report files.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.eval.matching import Matcher, matcher, squash, uses_answers
from qa.eval.matching import matches as matches  # re-exported
from qa.types import Answer
from vectorstore.errors import CiteqaError
from vectorstore.ingest import NoProgress, Progress
from vectorstore.settings import Settings


class QuestionSetError(ValueError, CiteqaError):
    pass


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    answerable: bool
    type: str | None = None

    def matcher(self) -> Matcher:
        """Whether a sentence is right for this question: its evidence, else its answers."""
        return matcher(self.evidence, self.answers)

    @property
    def by_answers(self) -> bool:
        """Judged by the answer-containing rule (answers and no evidence)."""
        return uses_answers(self.evidence, self.answers)


def read_questions(path: str | Path, warn: Callable[[str], None] = print) -> list[Question]:
    """Questions from JSONL; a malformed line is an error naming its number."""
    out: list[Question] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise QuestionSetError(f"{path}:{number}: invalid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise QuestionSetError(f"{path}:{number}: expected a JSON object")
            text = record.get("question")
            if not isinstance(text, str) or not text.strip():
                warn(f"{path}:{number}: question without text, skipped")
                continue
            evidence = tuple(str(e) for e in record.get("evidence") or [])
            answers = tuple(str(a) for a in record.get("answers") or [])
            # without the field, gold evidence or a non-empty answer makes it answerable
            known = any(e.strip() for e in evidence) or any(a.strip() for a in answers)
            out.append(
                Question(
                    id=str(record.get("id", number)),
                    question=text,
                    answers=answers,
                    evidence=evidence,
                    answerable=bool(record.get("answerable", known)),
                    type=record.get("type"),
                )
            )
    if not out:
        raise QuestionSetError(f"{path}: no questions")
    return out


def score_answer(q: Question, answer: Answer, seconds: float) -> dict[str, Any]:
    """Per-question row: ranks, hits, citations and latency.

    `rank` is the first hit in the answer's evidence list (kept even when it abstains);
    `first_citation_hit` is whether citation [1] is a hit: False when it abstains.
    """
    hit = q.matcher()
    rank = None
    if q.answerable:
        rank = next((i for i, e in enumerate(answer.evidence[:10], 1) if hit(e.sentence)), None)
    cited_gold = [hit(c.sentence) for c in answer.citations]
    first = any(g for c, g in zip(answer.citations, cited_gold, strict=True) if c.n == 1)
    first_hit = q.answerable and not answer.abstained and first
    answers = [a.casefold() for a in q.answers if a.strip()]
    return {
        "id": q.id,
        "question": q.question,
        "type": q.type,
        "answerable": q.answerable,
        "abstained": answer.abstained,
        "answer": answer.text,
        "citations": [
            {"n": c.n, "article_id": c.article_id, "sentence": c.sentence, "gold": g}
            for c, g in zip(answer.citations, cited_gold, strict=True)
        ],
        "rank": rank,
        "hit1": rank == 1,
        "hit5": rank is not None and rank <= 5,
        "hit10": rank is not None and rank <= 10,
        "first_citation_hit": first_hit,
        "cited_first_gold": first_hit,  # the old name
        "cited": len(cited_gold),
        "cited_gold": sum(cited_gold),
        "answer_recall": any(a in answer.text.casefold() for a in answers)
        if answers and not answer.abstained
        else False,
        "match": "answers" if q.by_answers else "evidence",
        "gold": list(q.evidence),
        "answers": list(q.answers),
        "latency_ms": round(seconds * 1000, 2),
        "top_evidence": answer.evidence[0].sentence if answer.evidence else "",
        "cited_chars": sum(len(c.sentence) for c in answer.citations),
    }


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0


def ranking_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """hit@k and MRR@10 over the answerable rows (shared with qa.eval.baselines)."""
    answerable = [r for r in rows if r["answerable"]]
    return {
        "hit@1": _mean(r["hit1"] for r in answerable),
        "hit@5": _mean(r["hit5"] for r in answerable),
        "hit@10": _mean(r["hit10"] for r in answerable),
        "mrr@10": _mean(1 / r["rank"] if r["rank"] else 0.0 for r in answerable),
    }


def latency_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    latencies = sorted(r["latency_ms"] for r in rows)
    return {
        "latency_p50_ms": round(statistics.median(latencies), 2) if latencies else 0.0,
        "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2)
        if latencies
        else 0.0,
    }


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    cited = sum(r["cited"] for r in rows)
    first_hit = _mean(r.get("first_citation_hit", r["cited_first_gold"]) for r in answerable)
    summary: dict[str, Any] = {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        # the reader's figure: [1] is a hit, abstaining on an answerable question a miss
        "first_citation_hit": first_hit,
        **ranking_metrics(rows),
        "cited@1": first_hit,  # the same figure under its old name
        "citation_precision": round(sum(r["cited_gold"] for r in rows) / cited, 4)
        if cited
        else 0.0,
        "answer_recall": _mean(r["answer_recall"] for r in answerable),
        "answered_answerable": _mean(not r["abstained"] for r in answerable),
        "abstained_unanswerable": _mean(r["abstained"] for r in unanswerable),
        **latency_metrics(rows),
        # what a reader must read to check an answer (answered questions only)
        "chars_cited": round(_mean(r.get("cited_chars", 0) for r in rows if not r["abstained"]), 1),
    }
    return summary


def split_by_type(
    summary: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    summarise: Callable[[Sequence[dict[str, Any]]], dict[str, Any]],
) -> None:
    """Add `by_type` to `summary` when the questions carry a type."""
    types = sorted({r["type"] for r in rows if r["type"]})
    if types:
        summary["by_type"] = {t: summarise([r for r in rows if r["type"] == t]) for t in types}


def evaluate(
    questions: Sequence[Question],
    ask: Callable[[str], Answer],
    progress: Callable[[int], None] | None = None,
    warmup: int = 3,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Ask every question; returns (summary, per-question rows)."""
    for q in questions[:warmup]:
        ask(q.question)
    rows = []
    for q in questions:
        started = time.perf_counter()
        answer = ask(q.question)
        rows.append(score_answer(q, answer, time.perf_counter() - started))
        if progress:
            progress(1)
    summary = summarise(rows)
    split_by_type(summary, rows, summarise)
    return summary, rows


class EvalError(RuntimeError, CiteqaError):
    """The evaluation cannot run as asked; the message says why."""


def spread(questions: Sequence[Question], limit: int | None) -> list[Question]:
    """`limit` questions evenly spread over the set (question files are often grouped)."""
    if not limit or limit >= len(questions):
        return list(questions)
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def missing_evidence(questions: Iterable[Question], texts: Iterable[str]) -> list[dict[str, Any]]:
    """Gold sentences that occur in no stored article, and answer-only questions none of whose
    answers occurs in any (`{"id", "answers"}`): such a question cannot be a hit."""
    haystack = "\x00".join(squash(t) for t in texts)
    found: dict[str, bool] = {}
    out: list[dict[str, Any]] = []
    for q in questions:
        if q.by_answers:
            keys = [k for k in (squash(a) for a in q.answers) if k]
            if not any(found.setdefault(k, k in haystack) for k in keys):
                out.append({"id": q.id, "answers": list(q.answers)})
            continue
        for gold in dict.fromkeys(q.evidence):
            key = squash(gold)
            if key and found.setdefault(key, key in haystack) is False:
                out.append({"id": q.id, "evidence": gold})
    return out


def missing_text(item: dict[str, Any]) -> str:
    """A `missing_evidence` item as shown: the gold sentence, or the answers joined."""
    text = item["evidence"] if "evidence" in item else " | ".join(item["answers"])
    return str(text)


def run_eval(
    questions: str | Path,
    *,
    corpus: Sequence[str | Path] = (),
    settings: Settings | None = None,
    home: str | Path | None = None,
    compare: str | Sequence[str] = (),
    out: str | Path | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    warn: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Evaluate citeqa, and the `compare` baselines, on a question set (`citeqa eval`).

    With `corpus` the articles go into a throwaway store that is deleted afterwards, so an
    evaluation never touches the user's collection; without it the user's store is read.
    Returns what summary.json holds plus the per-question `rows`.
    """
    from qa.assistant import Assistant
    from qa.eval.baselines import parse_names, run_baselines

    names = parse_names(compare)
    picked = spread(read_questions(questions, warn), limit)
    settings = settings or Settings.from_env(home=home)
    progress = progress or NoProgress()
    store = "throwaway" if corpus else str(settings.home)
    with tempfile.TemporaryDirectory(prefix="citeqa-eval-", ignore_cleanup_errors=True) as tmp:
        if corpus:
            settings = replace(settings, home=Path(tmp) / "store", chroma_url=None)
        with Assistant(settings=settings) as assistant:
            ingested = assistant.ingest(list(corpus), progress) if corpus else None
            for failure in ingested.failed if ingested else ():
                warn(f"not ingested: {failure}")
            if assistant.store.is_empty():
                raise EvalError(
                    "no articles to evaluate against: "
                    + (
                        "nothing in --corpus could be ingested"
                        if corpus
                        else f"the store at {settings.home} is empty (use --corpus)"
                    )
                )
            texts = assistant.store.texts(assistant.store.article_ids())
            missing = missing_evidence(picked, texts.values())
            if missing:
                first = missing_text(missing[0])[:80]
                warn(
                    f"{len(missing)} gold evidence sentence(s) or answer set(s) occur in no "
                    f"ingested article, so those questions cannot be hits: is the corpus "
                    f"right? (first: question {missing[0]['id']}: {first!r})"
                )
            summary, rows = evaluate(picked, assistant.ask, progress.task("citeqa", len(picked)))
            summary["missing_evidence"] = len(missing)
            summary["judged_by_answers"] = sum(q.by_answers for q in picked)
            runs = run_baselines(names, picked, texts, assistant.embedder, progress, Path(tmp))
    for run in runs:
        for row, theirs in zip(rows, run.rows, strict=True):
            row.setdefault("baselines", {})[run.name] = {
                "rank": theirs["rank"],
                "top": theirs["top"],
            }
    result: dict[str, Any] = {
        "questions_file": str(questions),
        "corpus": [str(c) for c in corpus],
        "store": store,
        "articles": len(texts),
        "ingest": ingested.summary() if ingested else None,
        "summary": summary,
        "baselines": {run.name: run.summary for run in runs},
        "missing_evidence": missing,
        "rows": rows,
    }
    if out:
        from qa.eval.report import write_outputs

        write_outputs(Path(out), result)
    return result
