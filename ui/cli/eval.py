"""`citeqa eval`: score a question set against the store or a throwaway corpus."""

from __future__ import annotations

import json

import click

from ui.cli.common import _settings, friendly


@click.command("eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False))
@click.argument("more", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option(
    "--corpus",
    multiple=True,
    type=click.Path(),
    help="Evaluate a throwaway store holding these files/folders, not your "
    "collection; further PATHs after QUESTIONS join it.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Write summary.json, per_question.jsonl and report.html here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout instead.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="Only N questions, evenly spread over the file.",
)
@click.option(
    "--compare",
    default="",
    metavar="NAMES",
    help="Baselines to run on the same questions: naive,bm25,dense.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
@friendly
def eval_command(
    ctx: click.Context,
    questions: str,
    more: tuple[str, ...],
    corpus: tuple[str, ...],
    out: str | None,
    as_json: bool,
    limit: int | None,
    compare: str,
    quiet: bool,
) -> None:
    """Score evidence, citations and abstention on a question set.

    QUESTIONS is JSONL, one {"question", "answers", "evidence", "answerable", "type"} a line.
    Without --corpus the store at --home is evaluated; it is only read.
    """
    from qa.eval.evaluate import run_eval
    from qa.eval.report import print_report
    from vectorstore.progress import RichProgress

    if more and not corpus:
        raise click.UsageError(f"unexpected argument {more[0]!r} (corpus paths need --corpus)")
    with RichProgress(enabled=not quiet) as progress:
        result = run_eval(
            questions,
            corpus=[*corpus, *more],
            settings=_settings(ctx),
            compare=compare,
            out=out,
            limit=limit,
            progress=progress,
            warn=lambda message: click.echo(f"warning: {message}", err=True),
        )
    if as_json:
        summary = {k: v for k, v in result.items() if k != "rows"}
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    print_report(result)
    if out:
        click.echo(f"wrote summary.json, per_question.jsonl and report.html to {out}")
