"""Terminal progress for long operations (rich), matching vectorstore.ingest.Progress."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RichProgress:
    """One bar per named task, drawn on stderr so stdout stays clean for --json."""

    def __init__(self, enabled: bool = True):
        self._progress = Progress(
            TextColumn("{task.description:>20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not enabled,
            transient=False,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def task(self, name: str, total: int) -> Callable[[int], None]:
        task_id = self._progress.add_task(name, total=total)
        return lambda n: self._progress.advance(task_id, n)
