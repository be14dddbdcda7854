"""What every citeqa command shares: settings from the command line, the assistant, and
citeqa's own errors turned into one-line messages.

Only click is imported at module load, so that `citeqa --help` stays fast; the library is
imported when a command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from vectorstore.settings import Settings


def _settings(ctx: click.Context) -> Settings:
    from vectorstore.settings import Settings

    obj = ctx.obj
    return Settings.from_env(
        home=obj["home"],
        model=obj["model"],
        chroma_url=obj["chroma_url"],
        date_order=obj["date_order"],
        max_file_bytes=obj["max_mb"] * 1024 * 1024 if obj["max_mb"] else None,
        read_only=True if obj.get("read_only") else None,
    )


def _assistant(ctx: click.Context, llm: Any = None) -> Any:
    from qa.assistant import Assistant

    return Assistant(settings=_settings(ctx), llm=llm)


def user_facing(err: BaseException) -> bool:
    """citeqa's own errors (and OSError: a missing file, a full disk) are for the user; any
    other exception is a bug and must keep its traceback."""
    from vectorstore.errors import CiteqaError

    return isinstance(err, CiteqaError | OSError)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Show citeqa's own errors as one-line click errors (exit code 1); re-raise the rest."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as err:
            if not user_facing(err):
                raise
            raise click.ClickException(str(err)) from None

    return wrapper
