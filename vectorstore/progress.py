"""Terminal progress for long operations (rich), matching vectorstore.ingest.Progress: the
CLI's ingest and eval, and a store rebuilding its vectors (vectorstore/store.py)."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


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
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def task(self, name: str, total: int) -> Callable[[int], None]:
        """A bar per name; named again, the bar's total grows (an ingest goes chunk by chunk)."""
        task_id = self._tasks.get(name)
        if task_id is None:
            task_id = self._tasks[name] = self._progress.add_task(name, total=total)
        else:
            shown = next(t for t in self._progress.tasks if t.id == task_id)
            before = shown.total or 0
            self._progress.update(task_id, total=before + total)
        return lambda n: self._progress.advance(task_id, n)
