"""The answering side's own errors: a user can act on each message as it stands."""

from __future__ import annotations

from vectorstore.errors import CiteqaError


class QuestionError(ValueError, CiteqaError):
    """The question cannot be asked as given; the message says why."""


class OptionError(QuestionError):
    """An option of `ask`/`stream` is unknown or has a bad value; the message names it."""
