"""Per-call options of `Assistant.ask`/`stream`: typed, validated, closed to unknown names.

A misspelt option (`sinse=`) is an error that names it and the closest known one, never
silently ignored.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal, get_args

from qa.errors import OptionError

Mode = Literal["extractive", "llm", "timeline"]
MODES: tuple[str, ...] = get_args(Mode)
MAX_K = 50


class _Unset:
    """No per-call value: the assistant's own setting applies."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class AskOptions:
    """One call's overrides; UNSET/None fields keep the assistant's settings."""

    k: int | None = None  # evidence sentences to consider (1..50)
    articles: tuple[str, ...] = ()  # only these article ids (`article=` takes one)
    since: str | datetime | None = None  # only articles published on or after
    until: str | datetime | None = None  # only articles published on or before
    source: str | None = None  # only articles from this source
    llm: Any = UNSET  # a LangChain chat model for this call (None: extractive)
    mode: Mode | None = None  # "extractive", "llm" (default when a model is set) or "timeline"
    abstain_below: float | None = None  # confidence threshold for this call
    as_of: str | date | None = None  # "today" for time in the question ("last week")
    time_in_question: bool = True  # False: "in March 2025" in the question filters nothing

    @classmethod
    def build(cls, overrides: Mapping[str, Any]) -> AskOptions:
        """Options from keyword arguments; unknown names and bad values are OptionErrors."""
        known = [f.name for f in fields(cls)]
        values = dict(overrides)
        if "article" in values:  # one id, or several: the CLI's --article, spelt singular
            values["articles"] = _merge(values.pop("article"), values.get("articles"))
        for name in values:
            if name not in known:
                close = difflib.get_close_matches(name, [*known, "article"], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise OptionError(f"unknown option {name!r}{hint}; options are: {', '.join(known)}")
        return cls(**values)._checked()

    def _checked(self) -> AskOptions:
        if self.k is not None:
            if isinstance(self.k, bool) or not isinstance(self.k, int | str | float):
                raise OptionError(f"k must be a whole number, not {self.k!r}")
            try:
                k = int(self.k)
            except ValueError:
                raise OptionError(f"k must be a whole number, not {self.k!r}") from None
            if not 1 <= k <= MAX_K:
                raise OptionError(f"k must be within 1..{MAX_K}, not {k}")
            object.__setattr__(self, "k", k)
        if self.mode is not None and self.mode not in MODES:
            raise OptionError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.abstain_below is not None:
            try:
                object.__setattr__(self, "abstain_below", float(self.abstain_below))
            except (TypeError, ValueError):
                raise OptionError(
                    f"abstain_below must be a number, not {self.abstain_below!r}"
                ) from None
        if self.as_of is not None and not isinstance(self.as_of, date):
            from vectorstore.dates import parse_date

            parsed = parse_date(str(self.as_of), "dmy")
            if parsed is None:
                raise OptionError(f"as_of: {self.as_of!r} is not a date (try 2025-03-20)")
            object.__setattr__(self, "as_of", parsed.date())
        if not isinstance(self.time_in_question, bool):
            raise OptionError(
                f"time_in_question must be true or false, not {self.time_in_question!r}"
            )
        if isinstance(self.articles, str):
            object.__setattr__(self, "articles", (self.articles,))
        else:
            object.__setattr__(self, "articles", tuple(self.articles or ()))
        return self


def _merge(one: Any, many: Any) -> tuple[str, ...]:
    def as_tuple(value: Any) -> tuple[str, ...]:
        if not value:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    return (*as_tuple(many), *as_tuple(one))
