"""What every citeqa command shares: settings from the command line, the assistant, and
library errors turned into one-line messages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from vectorstore.settings import Settings, SettingsError

KNOWN_ERRORS: tuple[type[Exception], ...] = (SettingsError, ValueError, RuntimeError, OSError)


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.obj
    return Settings.from_env(
        home=obj["home"],
        model=obj["model"],
        chroma_url=obj["chroma_url"],
        date_order=obj["date_order"],
        max_file_bytes=obj["max_mb"] * 1024 * 1024 if obj["max_mb"] else None,
    )


def _assistant(ctx: click.Context, llm: Any = None) -> Any:
    from qa.assistant import Assistant

    return Assistant(settings=_settings(ctx), llm=llm)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into one-line click errors (exit code 1)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except KNOWN_ERRORS as err:
            raise click.ClickException(str(err)) from None

    return wrapper
