"""Inputs of the app's endpoints, checked before use: a bad one is a clear message for the
caller (a `gr.Error` that leaves no traceback in the server log), never a raw Python error.

The answering options are validated by `qa.options.AskOptions` itself; this module only
checks what arrives over HTTP has the right shape first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import gradio as gr

from qa.errors import QuestionError
from qa.filters import FilterError
from qa.options import AskOptions
from vectorstore.errors import CiteqaError
from vectorstore.store import StoreError
from vectorstore.web import is_url

MAX_IDS = 10_000
MAX_ID_CHARS = 200
MAX_FILTER_CHARS = 100_000  # a source is stored text of any length; this only bounds a payload
MAX_URL_CHARS = 100_000  # the URL box: thousands of URLs, not a novel

F = TypeVar("F", bound=Callable[..., Any])


class InputError(ValueError, CiteqaError):
    """An endpoint input has the wrong type or shape; the message names it."""


def clean_error(err: Exception) -> gr.Error:
    """The message of a user error as a gr.Error, without a traceback in the server log."""
    return gr.Error(str(err), print_exception=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a caller can fix into clean gr.Errors."""
    try:
        yield
    except (InputError, QuestionError, FilterError, StoreError) as err:
        raise clean_error(err) from None


def checked(fn: F) -> F:
    """An endpoint whose caller-fixable errors become clean gr.Errors."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with user_errors():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def text_arg(name: str, value: Any, limit: int = MAX_FILTER_CHARS) -> str:
    """A text input: None is empty; anything but a string is an InputError."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, not {_kind(value)}")
    if len(value) > limit:
        raise InputError(f"{name} is {len(value):,} characters; the limit is {limit:,}")
    return value


def ask_options(
    k: Any,
    mode: Any = None,
    since: Any = "",
    until: Any = "",
    source: Any = "",
    time_in_question: Any = True,
) -> dict[str, Any]:
    """Keyword options for `Assistant.ask`/`stream`, validated by AskOptions."""
    if isinstance(k, float) and k.is_integer():
        k = int(k)  # a slider sends 5.0
    if mode in ("", None):
        mode = None
    elif not isinstance(mode, str):
        raise InputError(f"mode must be text, not {_kind(mode)}")
    values = {
        "k": k,
        "mode": mode,
        "since": text_arg("since", since) or None,
        "until": text_arg("until", until) or None,
        "source": text_arg("source", source) or None,
        "time_in_question": True if time_in_question is None else time_in_question,
    }
    if k is None:
        raise InputError("k must be a whole number, not null")
    options = AskOptions.build(values)  # OptionError (a QuestionError) names a bad value
    return {
        "k": options.k,
        "mode": options.mode,
        "since": options.since,
        "until": options.until,
        "source": options.source,
        "time_in_question": options.time_in_question,
    }


def url_list(value: Any) -> list[str]:
    """Article or feed URLs, one per line (or separated by spaces); each must be http(s)."""
    urls = text_arg("urls", value, MAX_URL_CHARS).split()
    for url in urls:
        if not is_url(url):
            raise InputError(f"not an http(s) URL: {url[:200]}")
    return urls


def article_ids(value: Any) -> list[str]:
    """Article ids to remove: a list of id strings (one id string is accepted too)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise InputError(f"ids must be a list of article ids (text), not {_kind(value)}")
    if len(value) > MAX_IDS:
        raise InputError(f"{len(value):,} ids at once; the limit is {MAX_IDS:,}")
    for i, one in enumerate(value):
        if not isinstance(one, str):
            raise InputError(f"ids[{i}] must be an article id (text), not {_kind(one)}")
        if len(one) > MAX_ID_CHARS or any(unicodedata.category(c)[0] in "CZ" for c in one):
            raise InputError(f"ids[{i}] is not an article id: {one[:40]!r}")
    return list(value)


def history_messages(value: Any) -> list[dict[str, Any]]:
    """A chat history: a list of {role, content} messages (None is an empty one)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"history must be a list of messages, not {_kind(value)}")
    messages = []
    for i, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise InputError(f"history[{i}] must be a message with role user or assistant")
        messages.append({"role": message["role"], "content": message.get("content")})
    return messages


def _kind(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {str(value)[:40]!r}"
