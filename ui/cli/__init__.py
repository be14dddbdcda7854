"""The `citeqa` command: parse, call the library, print. citeqa's own errors become one-line
messages (ui.cli.common.friendly); the library is imported inside each command, so `--help`
loads neither the model stack nor Chroma, LangChain, Gradio or rich.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ui.cli.common import _assistant, friendly
from ui.cli.eval import eval_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    envvar="CITEQA_HOME",
    type=click.Path(file_okay=False),
    help="Store folder (env CITEQA_HOME; default: per-user data folder).",
)
@click.option(
    "--model",
    envvar="CITEQA_MODEL",
    default=None,
    help="sentence-transformers model name or path (env CITEQA_MODEL).",
)
@click.option(
    "--chroma-url",
    envvar="CITEQA_CHROMA_URL",
    default=None,
    help="Use a Chroma server, e.g. http://localhost:8000 (env CITEQA_CHROMA_URL).",
)
@click.option(
    "--date-order",
    type=click.Choice(["dmy", "mdy"]),
    envvar="CITEQA_DATE_ORDER",
    default=None,
    help="How to read numeric dates like 10/01/23 (default dmy).",
)
@click.option(
    "--max-file-mb",
    "max_mb",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse files larger than this (default 20).",
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Answer from a store another citeqa process writes (env CITEQA_READ_ONLY=1).",
)
@click.pass_context
def main(
    ctx: click.Context,
    home: str | None,
    model: str | None,
    chroma_url: str | None,
    date_order: str | None,
    max_mb: int | None,
    read_only: bool,
) -> None:
    """citeqa: answers about your news articles, every sentence cited."""
    ctx.obj = {
        "read_only": read_only,
        "home": home,
        "model": model,
        "chroma_url": chroma_url,
        "date_order": date_order,
        "max_mb": max_mb,
    }


ALLOW_PRIVATE_HELP = "Fetch from private, loopback and link-local addresses too."
DELAY_HELP = "Seconds between two requests to the same host."


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--allow-private", is_flag=True, help=ALLOW_PRIVATE_HELP)
@click.option("--delay", type=click.FloatRange(min=0), default=1.0, help=DELAY_HELP)
@click.pass_context
@friendly
def ingest(
    ctx: click.Context, paths: tuple[str, ...], quiet: bool, allow_private: bool, delay: float
) -> None:
    """Add articles from files and folders (.txt .md .html .json .jsonl), article URLs,
    and RSS/Atom feeds (URLs, or .rss .atom .xml files)."""
    from vectorstore.progress import RichProgress

    policy = _fetch_policy(ctx, allow_private, delay)
    with _assistant(ctx) as assistant, RichProgress(enabled=not quiet) as progress:
        report = assistant.ingest(list(paths), progress, policy)
    for failure in report.failed:
        click.echo(f"failed: {failure}", err=True)
    click.echo(report.summary())
    if report.failed:
        sys.exit(1)


def _fetch_policy(ctx: click.Context, allow_private: bool, delay: float) -> Any:
    from vectorstore.fetch import FetchPolicy

    max_mb = ctx.obj.get("max_mb") or 20
    return FetchPolicy(
        max_bytes=max_mb * 1024 * 1024, allow_private=allow_private, host_delay=delay
    )


@main.command()
@click.argument("feeds", nargs=-1, required=True)
@click.option("--every", default="15m", show_default=True, help="Time between polls: 90s, 15m, 1h.")
@click.option("--polls", type=click.IntRange(min=0), default=0, help="Stop after N polls.")
@click.option("--allow-private", is_flag=True, help=ALLOW_PRIVATE_HELP)
@click.option("--delay", type=click.FloatRange(min=0), default=1.0, help=DELAY_HELP)
@click.pass_context
@friendly
def watch(
    ctx: click.Context,
    feeds: tuple[str, ...],
    every: str,
    polls: int,
    allow_private: bool,
    delay: float,
) -> None:
    """Poll FEEDS (URLs or files) and store new articles, one line per poll, until Ctrl+C
    (the poll under way finishes first; a second Ctrl+C stops at once, losing nothing stored)."""
    from ui.cli.watching import watch_feeds

    seconds = _interval(every)
    policy = _fetch_policy(ctx, allow_private, delay)
    with _assistant(ctx) as assistant:
        watch_feeds(assistant, list(feeds), seconds, polls, policy, click.echo)


def _interval(text: str) -> float:
    import re

    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*", text.lower())
    if not found:
        raise click.BadParameter(f"{text!r}: use e.g. 90s, 15m or 1h", param_hint="--every")
    value = float(found.group(1)) * {"s": 1, "m": 60, "h": 3600}[found.group(2) or "s"]
    if value <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--every")
    return value


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.option(
    "-k",
    type=click.IntRange(1, 50),
    default=5,
    show_default=True,
    help="Evidence sentences to consider for the answer.",
)
@click.option("--article", multiple=True, help="Only this article id (repeatable).")
@click.option("--since", help="Only articles published on or after this date.")
@click.option("--until", help="Only articles published on or before this date.")
@click.option("--source", help="Only articles from this source.")
@click.option(
    "--timeline", is_flag=True, help="Cite the relevant sentences in date order, newest last."
)
@click.option(
    "--as-of",
    help="The day 'last week' or 'since January' in the question counts from (default today).",
)
@click.option(
    "--all-dates",
    is_flag=True,
    help="Do not filter by a time named in the question ('in March 2025').",
)
@click.option("--llm", help="Chat model, e.g. ollama:llama3.2 or openai:gpt-4o-mini.")
@click.option("--llm-base-url", help="Base URL for the chat model's server.")
@click.option(
    "--history",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file with earlier turns: [[question, answer], ...].",
)
@click.pass_context
@friendly
def ask(
    ctx: click.Context,
    question: str,
    as_json: bool,
    k: int,
    article: tuple[str, ...],
    since: str | None,
    until: str | None,
    source: str | None,
    timeline: bool,
    as_of: str | None,
    all_dates: bool,
    llm: str | None,
    llm_base_url: str | None,
    history: str | None,
) -> None:
    """Answer QUESTION from the stored articles, with cited sentences.

    Time in the question ("in March 2025", "last week", "since January") filters the articles
    by publication date; --since/--until replace it."""
    from qa.llm import chat_model_from_spec

    model = chat_model_from_spec(llm, llm_base_url) if llm else None
    turns = _history(history) if history else None
    with _assistant(ctx, model) as assistant:
        ids = _full_ids(assistant, article)
        answer = assistant.ask(
            question,
            turns,
            k=k,
            articles=ids,
            since=since,
            until=until,
            source=source,
            as_of=as_of,
            time_in_question=not all_dates,
            **({"mode": "timeline"} if timeline else {}),
        )
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    if answer.filters.get("from_question"):
        click.echo(_filter_line(answer.filters))
    click.echo(answer.text)
    if answer.citations:
        click.echo()
        for citation in answer.citations:
            click.echo(citation.footnote())


def _filter_line(filters: dict[str, str]) -> str:
    """How the question's own time filtered the search, and how to undo it."""
    said = filters["from_question"]
    if "note" in filters:
        return f"({said!r}: {filters['note']})"
    span = f"{filters.get('since', '…')} – {filters.get('until', '…')}"
    return (
        f"(articles published {span}, from {said!r}; --all-dates removes it, "
        "--since/--until replace it)"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
@friendly
def articles(ctx: click.Context, as_json: bool) -> None:
    """List stored articles; near copies of one story (wire copies) are marked together."""
    from vectorstore.dates import day, iso
    from vectorstore.near_duplicates import story_labels

    with _assistant(ctx) as assistant:
        rows = assistant.articles()
    labels = story_labels(rows)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": a.id,
                        "title": a.title,
                        "published": iso(a.published),
                        "source": a.source,
                        "url": a.url,
                        "sentences": a.sentences,
                        "chunks": a.chunks,
                        "story": a.story,
                        "story_label": labels.get(a.id, ""),
                    }
                    for a in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not rows:
        click.echo("No articles ingested yet.")
    for a in rows:
        click.echo(
            f"{a.id}  {day(a.published) or '----------'}  {a.sentences:4d} sentences  "
            f"{a.title}{f'  ({a.source})' if a.source else ''}"
            + (f"  [{labels[a.id]}]" if a.id in labels else "")
        )


@main.command()
@click.argument("ids", nargs=-1, required=True)
@click.pass_context
@friendly
def remove(ctx: click.Context, ids: tuple[str, ...]) -> None:
    """Remove articles completely (ids or unique id prefixes)."""
    with _assistant(ctx) as assistant:
        full = _full_ids(assistant, ids)
        removed = assistant.remove(full)
    click.echo(f"removed {len(removed)} article(s)")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts and size of the store."""
    from dataclasses import asdict

    with _assistant(ctx) as assistant:
        s = assistant.store.stats()
    if as_json:
        click.echo(json.dumps(asdict(s), indent=2))
        return
    click.echo(
        f"{s.articles} articles, {s.sentences} sentences, {s.chunks} chunks, "
        f"{s.vectors} vectors, {s.bytes_on_disk / 2**20:.1f} MB on disk\n"
        f"model: {s.model}\nstore: {s.home}\nchroma: {s.chroma}"
    )


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on (0.0.0.0 exposes the app to your network).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--llm", help="Chat model for the LLM answer mode, e.g. ollama:llama3.2.")
@click.option("--llm-base-url", help="Base URL for the chat model's server.")
@click.option("--max-upload-mb", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--auth", envvar="CITEQA_AUTH", help="USER:PASSWORD required to use the app.")
@click.option(
    "--ingest",
    "paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Ingest these files/folders before serving (repeatable).",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let the Articles tab fetch URLs on private, loopback and link-local addresses.",
)
@click.pass_context
@friendly
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    llm: str | None,
    llm_base_url: str | None,
    max_upload_mb: int,
    auth: str | None,
    paths: tuple[str, ...],
    allow_private: bool,
) -> None:
    """Open the chat in the browser (Gradio)."""
    from qa.llm import chat_model_from_spec
    from ui.app import serve as serve_app
    from vectorstore.progress import RichProgress

    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise click.ClickException("--auth must be USER:PASSWORD")
        credentials = (user, password)
    model = chat_model_from_spec(llm, llm_base_url) if llm else None
    with _assistant(ctx, model) as assistant:
        if paths:
            with RichProgress() as progress:
                click.echo(assistant.ingest(list(paths), progress).summary())
        click.echo(f"citeqa chat on http://{host}:{port}  (Ctrl+C to stop)")
        serve_app(
            assistant,
            host=host,
            port=port,
            max_upload_mb=max_upload_mb,
            auth=credentials,
            fetch=_fetch_policy(ctx, allow_private, 1.0),
        )


def _history(path: str) -> list[Any]:
    """Earlier turns from --history; a file that is not a JSON list is the user's to fix."""
    try:
        turns = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise click.ClickException(f"--history {path}: not JSON ({err})") from None
    if not isinstance(turns, list):
        raise click.ClickException(
            f"--history {path}: expected a JSON list of [question, answer] turns"
        )
    return turns


def _full_ids(assistant: Any, given: tuple[str, ...]) -> list[str]:
    resolved = assistant.store.resolve_ids(list(given))
    out = []
    for prefix, matches in resolved.items():
        if len(matches) != 1:
            what = "no article" if not matches else f"{len(matches)} articles"
            raise click.ClickException(f"article id {prefix!r} matches {what}")
        out.extend(matches)
    return out


main.add_command(eval_command)


if __name__ == "__main__":
    main()
