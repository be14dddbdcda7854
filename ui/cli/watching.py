"""`citeqa watch`: poll feeds until stopped, one line per poll.

The first Ctrl+C lets the poll under way finish (its articles are stored) and then stops; a
second one stops at once. Either way nothing stored is lost: each ingest batch is written in
one journaled step (vectorstore/store.py), and a kill between steps is rolled back by the
next process that opens the store.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from vectorstore.types import IngestReport


class StopRequest:
    """Set by the first SIGINT; the second one raises KeyboardInterrupt as usual."""

    def __init__(self, say: Callable[[str], None]):
        self.event = threading.Event()
        self._say = say
        self._previous: Any = None

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        self._say("stopping after this poll (Ctrl+C again to stop now)")


def poll_line(number: int, report: IngestReport) -> str:
    """`2026-12-03 07:45:00 poll 3: 2 new, 48 unchanged, 1 failed`"""
    new = len(report.added) + len(report.replaced)
    unchanged = len(report.unchanged) + int(report.known_items)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} poll {number}: {new} new, {unchanged} unchanged, {len(report.failed)} failed"


def watch_feeds(
    assistant: Any,
    feeds: Sequence[str],
    every: float,
    polls: int,
    fetch: Any,
    say: Callable[[str], None],
) -> int:
    """Poll until Ctrl+C (or `polls` polls when > 0); returns the number of polls made."""
    done = 0
    with StopRequest(say) as stop:
        try:
            while not stop.event.is_set():
                report = assistant.ingest(list(feeds), None, fetch)
                done += 1
                say(poll_line(done, report))
                for failure in report.failed:
                    say(f"  failed: {failure}")
                if polls and done >= polls:
                    break
                stop.event.wait(every)
        except KeyboardInterrupt:
            say("stopped")
            return done
    say("stopped")
    return done
