"""Files uploaded through the chat: a short result to read, and no copy left behind.

Gradio keeps each upload under its temporary folder (`/tmp/gradio/<hash>/<name>`); once a
file is ingested its text lives in the store, so the upload and its folder are removed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from gradio.utils import get_upload_folder

from ui.render import cut, plain
from vectorstore.types import IngestReport

MAX_FAILURES_SHOWN = 30  # named failures in a result; the rest are counted
MAX_FILES_SHOWN = 30
REASON_CHARS = 200


def upload_result(paths: Sequence[str], report: IngestReport) -> str:
    """The counts first (`IngestReport.summary()`), then one line per file and failure (at
    most a few dozen of each); when the lists were cut, the counts close the result too."""
    failures = list(report.failed)
    failed_files = {_file_of(f.origin) for f in failures}
    good = [Path(p).name for p in paths if Path(p).name not in failed_files]
    lines = [f"✓ {_shown(name)}" for name in good[:MAX_FILES_SHOWN]]
    if len(good) > MAX_FILES_SHOWN:
        lines.append(f"… and {len(good) - MAX_FILES_SHOWN} more files added or unchanged")
    lines += [
        f"✗ {_shown(Path(f.origin).name)}: {cut(plain(f.reason), REASON_CHARS)}"
        for f in failures[:MAX_FAILURES_SHOWN]
    ]
    if len(failures) > MAX_FAILURES_SHOWN:
        rest = len(failures) - MAX_FAILURES_SHOWN
        lines.append(f"… and {rest:,} more like these")
    summary = report.summary()
    if len(good) > MAX_FILES_SHOWN or len(failures) > MAX_FAILURES_SHOWN:
        lines.append(summary)
    return "\n".join([summary, *lines])


def web_result(report: IngestReport) -> str:
    """The counts, then one line per URL that failed and why (at most a few dozen)."""
    failures = list(report.failed)
    lines = [
        f"✗ {cut(plain(f.origin), REASON_CHARS)}: {cut(plain(f.reason), REASON_CHARS)}"
        for f in failures[:MAX_FAILURES_SHOWN]
    ]
    if len(failures) > MAX_FAILURES_SHOWN:
        lines.append(f"… and {len(failures) - MAX_FAILURES_SHOWN:,} more like these")
    return "\n".join([report.summary(), *lines])


def _file_of(origin: str) -> str:
    """`folder/name.jsonl:12` or `name.json:[3]` → `name.jsonl` / `name.json`."""
    name = Path(origin).name
    head, sep, tail = name.rpartition(":")
    return head if sep and (tail.isdigit() or tail.startswith("[")) else name


def _shown(name: str) -> str:
    return cut(plain(name), 120)


def discard_uploads(paths: Iterable[str | Path]) -> None:
    """Remove uploaded files (and their emptied folders) from Gradio's temporary folder;
    a path outside that folder is never touched."""
    root = Path(get_upload_folder()).resolve()
    for raw in paths:
        path = Path(raw).resolve()
        if root not in path.parents:
            continue
        try:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            continue
        folder = path.parent
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
            folder = folder.parent
