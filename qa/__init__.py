"""citeqa's answering side: `from qa import ask`, or a long-lived `Assistant`.

Names are imported on first use, so importing a small part of `qa` (or running
`citeqa --help`) loads neither torch, Chroma nor LangChain.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.types import Answer

_LAZY = {
    "Assistant": "qa.assistant",
    "QuestionError": "qa.errors",
    "OptionError": "qa.errors",
    "AskOptions": "qa.options",
    "ABSTAIN_TEXT": "qa.types",
    "Answer": "qa.types",
    "Citation": "qa.types",
    "Evidence": "qa.types",
}
_shared: dict[tuple[str, str], Assistant] = {}
_shared_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def ask(
    question: str,
    history: Sequence[Any] | None = None,
    *,
    home: str | Path | None = None,
    store: Assistant | None = None,
    **options: Any,
) -> Answer:
    """Answer a question from the store at `home` (default CITEQA_HOME), with citations.

    The model and store are opened once per home and kept for later calls; pass `store=`
    an Assistant to use one you manage yourself. `options` as in `qa.options.AskOptions`.
    """
    assistant = store or _assistant_for(home)
    return assistant.ask(question, history, **options)


def _assistant_for(home: str | Path | None) -> Assistant:
    from qa.assistant import Assistant
    from vectorstore.settings import Settings

    settings = Settings.from_env(home=home)
    key = (str(settings.home), settings.chroma_url or "")
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Assistant(settings=settings)
        return _shared[key]


__all__ = [
    "ABSTAIN_TEXT",
    "Answer",
    "AskOptions",
    "Assistant",
    "Citation",
    "Evidence",
    "OptionError",
    "QuestionError",
    "ask",
]
