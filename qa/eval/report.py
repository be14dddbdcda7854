"""What `citeqa eval` shows and writes: the terminal tables, summary.json, per_question.jsonl and
a self-contained report.html (charts inline as base64 PNG, every piece of text escaped, since
questions and articles are untrusted input).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from qa.eval.evaluate import missing_text

# (label, summary key, format); a summary without the key shows "-"
METRICS: tuple[tuple[str, str, str], ...] = (
    ("questions", "questions", "n"),
    ("first citation [1] is a hit", "first_citation_hit", "f"),
    ("evidence hit@1", "hit@1", "f"),
    ("evidence hit@5", "hit@5", "f"),
    ("evidence hit@10", "hit@10", "f"),
    ("MRR@10", "mrr@10", "f"),
    ("citation precision", "citation_precision", "f"),
    ("answer recall", "answer_recall", "f"),
    ("answered (answerable)", "answered_answerable", "f"),
    ("abstained (unanswerable)", "abstained_unanswerable", "f"),
    ("latency p50 ms", "latency_p50_ms", "ms"),
    ("latency p95 ms", "latency_p95_ms", "ms"),
    ("chars to read per answer", "chars_cited", "n"),
    ("index build s", "index_s", "ms"),
    ("gold evidence in no article", "missing_evidence", "n"),
)
TYPE_COLUMNS = (
    ("n", "questions", "n"),
    ("[1] hit", "first_citation_hit", "f"),
    ("hit@1", "hit@1", "f"),
    ("hit@5", "hit@5", "f"),
    ("MRR@10", "mrr@10", "f"),
    ("answered", "answered_answerable", "f"),
    ("abstained", "abstained_unanswerable", "f"),
)
WORST_MISSES = 20


def fmt(summary: dict[str, Any], key: str, kind: str) -> str:
    """A figure as shown; "-" where it does not apply (no such question, or a baseline)."""
    value = summary.get(key)
    if (
        value is None
        or (key in _ANSWERABLE_ONLY and not summary.get("answerable"))
        or (key == "abstained_unanswerable" and not summary.get("unanswerable"))
    ):
        return "-"
    if kind == "f":
        return f"{value:.3f}"
    if kind == "ms":
        return f"{value:.1f}"
    return f"{value:,.0f}"


_ANSWERABLE_ONLY = {
    "first_citation_hit",
    "hit@1",
    "hit@5",
    "hit@10",
    "mrr@10",
    "cited@1",
    "answer_recall",
    "answered_answerable",
}


def _columns(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("citeqa", result["summary"]), *result["baselines"].items()]


def notes(result: dict[str, Any]) -> list[str]:
    out = [
        "first citation [1] is a hit: share of answerable questions whose [1] is right, an "
        "abstention counting as a miss; evidence hit@k and MRR rank the evidence list, which "
        "an abstaining answer still has."
    ]
    by_answers = result["summary"].get("judged_by_answers", 0)
    if by_answers:
        out.append(
            f"{by_answers} question(s) have answers and no gold evidence: for them a "
            "sentence is a hit when it contains an answer string (case and spaces "
            "ignored)."
        )
    if "naive" in result["baselines"]:
        out.append(
            "naive returns 4 chunks of ~1000 characters: its hit@5 and hit@10 are hit@4, "
            "and it never abstains."
        )
    if any(n != "naive" for n in result["baselines"]):
        out.append("bm25/dense rank sentences and never abstain; a reader reads their top one.")
    if result["baselines"]:
        out.append("baselines never abstain: their first citation is their top-1 hit.")
    if result["missing_evidence"]:
        out.append(
            f"{len(result['missing_evidence'])} gold evidence sentence(s) or answer "
            "set(s) occur in no ingested article: those questions cannot be hits. Is "
            "the corpus right?"
        )
    return out


def summary_table(result: dict[str, Any]) -> Table:
    s = result["summary"]
    table = Table(
        title=f"citeqa eval: {s['questions']} questions ({s['answerable']} answerable, "
        f"{s['unanswerable']} unanswerable), {result['articles']} articles"
    )
    table.add_column("metric")
    columns = _columns(result)
    for name, _ in columns:
        table.add_column(name, justify="right")
    for label, key, kind in METRICS:
        table.add_row(label, *(fmt(summary, key, kind) for _, summary in columns))
    return table


def type_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the by-type table: citeqa's figures, then each baseline's hit@1."""
    by_type = result["summary"].get("by_type") or {}
    header = [
        "type",
        *(label for label, _, _ in TYPE_COLUMNS),
        *(f"{name} hit@1" for name in result["baselines"]),
    ]
    rows = []
    for kind, summary in by_type.items():
        theirs = [run.get("by_type", {}).get(kind, {}) for run in result["baselines"].values()]
        rows.append(
            [
                kind,
                *(fmt(summary, key, f) for _, key, f in TYPE_COLUMNS),
                *(fmt(t, "hit@1", "f") for t in theirs),
            ]
        )
    return header, rows


def type_table(result: dict[str, Any]) -> Table | None:
    header, rows = type_rows(result)
    if not rows:
        return None
    table = Table(title="by question type")
    for i, label in enumerate(header):
        table.add_column(label, justify="right" if i else "left", no_wrap=not i)
    for row in rows:
        table.add_row(*row)
    return table


def print_report(result: dict[str, Any], console: Console | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:  # piped or captured: do not squeeze the tables into 80
            console = Console(width=120)
    console.print(summary_table(result))
    by_type = type_table(result)
    if by_type is not None:
        console.print(by_type)
    for note in notes(result):
        console.print(f"note: {note}", style="yellow" if "corpus" in note else None)


def write_outputs(out: Path, result: dict[str, Any]) -> None:
    """summary.json (everything but the rows), per_question.jsonl and report.html."""
    out.mkdir(parents=True, exist_ok=True)
    summary = {k: v for k, v in result.items() if k != "rows"}
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    with (out / "per_question.jsonl").open("w", encoding="utf-8") as handle:
        for row in result["rows"]:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "report.html").write_text(html_report(result), encoding="utf-8")


def html_report(result: dict[str, Any]) -> str:
    e = html.escape
    columns = _columns(result)
    head = "".join(f"<th>{e(name)}</th>" for name, _ in columns)
    body = "".join(
        f"<tr><td>{e(label)}</td>"
        + "".join(f"<td class=n>{e(fmt(s, key, kind))}</td>" for _, s in columns)
        + "</tr>"
        for label, key, kind in METRICS
    )
    corpus = ", ".join(result["corpus"]) or f"the store at {result['store']}"
    parts = [
        "<h1>citeqa eval</h1>",
        f"<p>Questions: <code>{e(result['questions_file'])}</code>. Corpus: "
        f"<code>{e(corpus)}</code> ({result['articles']} articles).</p>",
        *(f"<p class=note>{e(n)}</p>" for n in notes(result)),
        f"<h2>Summary</h2><table><tr><th>metric</th>{head}</tr>{body}</table>",
    ]
    header, rows = type_rows(result)
    if rows:
        head = "".join(f"<th>{e(label)}</th>" for label in header)
        body = "".join(
            "<tr>"
            + "".join(f"<td{' class=n' if i else ''}>{e(cell)}</td>" for i, cell in enumerate(row))
            + "</tr>"
            for row in rows
        )
        parts.append(f"<h2>By question type</h2><table><tr>{head}</tr>{body}</table>")
    parts += [_charts(result), _misses(result["rows"]), _missing(result["missing_evidence"])]
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>citeqa eval</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )


_CSS = (
    "body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem"
    " .5rem;vertical-align:top;text-align:left}td.n{text-align:right}.note{color:#8a5300}"
    "img{max-width:100%}ul{margin:0;padding-left:1.1rem}"
)


def _misses(rows: Sequence[dict[str, Any]]) -> str:
    e = html.escape
    misses = [r for r in rows if r["answerable"] and (r["rank"] is None or r["rank"] > 5)]
    if not misses:
        return "<h2>Worst misses</h2><p>Every answerable question had gold evidence in the top 5."
    body = "".join(
        f"<tr><td>{e(str(r['id']))}</td><td>{e(str(r['type'] or ''))}</td>"
        f"<td class=n>{e(str(r['rank'] or '>10'))}</td><td>{e(r['question'])}</td>"
        f"<td>{e(r['top_evidence'])}</td><td><ul>"
        + "".join(
            f"<li>{e(g)}</li>" for g in r["gold"] or [f"answer: {a}" for a in r.get("answers", [])]
        )
        + "</ul></td></tr>"
        for r in misses[:WORST_MISSES]
    )
    return (
        f"<h2>Worst misses</h2><p>{len(misses)} answerable question(s) without gold evidence "
        f"in the top 5; the first {min(len(misses), WORST_MISSES)}:</p><table><tr><th>id</th>"
        "<th>type</th><th>rank</th><th>question</th><th>our top evidence</th>"
        f"<th>gold evidence (or answers)</th></tr>{body}</table>"
    )


def _missing(missing: Sequence[dict[str, Any]]) -> str:
    if not missing:
        return ""
    items = "".join(
        f"<li>{html.escape(str(m['id']))}: {html.escape(missing_text(m))}</li>"
        for m in missing[:WORST_MISSES]
    )
    return f"<h2>Gold evidence in no article</h2><ul>{items}</ul>"


def _charts(result: dict[str, Any]) -> str:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return "<p class=note>Charts need matplotlib (pip install matplotlib).</p>"
    import numpy as np

    groups = {"all": result["summary"], **result["summary"].get("by_type", {})}
    keys = ("first_citation_hit", "hit@1", "hit@5", "answered_answerable", "abstained_unanswerable")
    fig = Figure(figsize=(9, 3.6))
    ax = fig.add_subplot()
    x = np.arange(len(groups))
    for i, key in enumerate(keys):
        values = [float("nan") if fmt(s, key, "f") == "-" else s[key] for s in groups.values()]
        ax.bar(x + (i - (len(keys) - 1) / 2) * 0.16, values, 0.16, label=key)
    ax.set_xticks(x, list(groups))
    ax.set_ylim(0, 1.25)
    ax.set_title("citeqa by question type")
    ax.legend(fontsize=8, loc="upper center", ncols=len(keys))
    charts = [("Metrics by question type", _png(fig))]

    fig = Figure(figsize=(9, 3.2))
    ax = fig.add_subplot()
    latencies = [r["latency_ms"] for r in result["rows"] if r["latency_ms"] > 0]
    if latencies:
        low, high = max(min(latencies), 0.01), max(max(latencies), 0.02)
        bins = np.logspace(np.log10(low), np.log10(high), 30)
        ax.hist(latencies, bins=bins.tolist(), label="citeqa")
        ax.set_xscale("log")
    ax.set_xlabel("latency per question, ms (log scale)")
    ax.set_ylabel("questions")
    ax.set_title("citeqa latency")
    charts.append(("Latency", _png(fig)))
    return "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{data}'>"
        for title, data in charts
    )


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=96)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
