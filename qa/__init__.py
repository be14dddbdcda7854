"""citeqa's answering side: `from qa import ask`, or a long-lived `Assistant`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.assistant import Assistant, QuestionError
from qa.types import ABSTAIN_TEXT, Answer, Citation, Evidence

_shared: dict[tuple[str, str], Assistant] = {}
_shared_lock = threading.Lock()


def ask(
    question: str,
    history: Sequence[Any] | None = None,
    *,
    home: str | Path | None = None,
    store: Assistant | None = None,
    **overrides: Any,
) -> Answer:
    """Answer a question from the store at `home` (default CITEQA_HOME), with citations.

    The model and store are opened once per home and kept for later calls; pass `store=`
    an Assistant to use one you manage yourself.
    """
    assistant = store or _assistant_for(home)
    return assistant.ask(question, history, **overrides)


def _assistant_for(home: str | Path | None) -> Assistant:
    from vectorstore.settings import Settings

    settings = Settings.from_env(home=home)
    key = (str(settings.home), settings.chroma_url or "")
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Assistant(settings=settings)
        return _shared[key]


__all__ = ["ABSTAIN_TEXT", "Answer", "Assistant", "Citation", "Evidence", "QuestionError", "ask"]
