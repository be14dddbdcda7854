"""An ingest reads and stores its input a chunk at a time (vectorstore/ingest.py CHUNK_CHARS),
so its memory does not grow with the input: the store it leaves is the one a single chunk
would leave, a duplicate in a later chunk is reported unchanged, and one progress bar per
counter grows chunk by chunk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.store_invariants import Reference, assistant_with, check_store
from vectorstore.ids import article_id


def write_articles(folder: Path, count: int) -> dict[str, str]:
    """`count` small JSONL articles, three per file, and one exact duplicate at the end."""
    texts = {}
    lines = []
    for n in range(count):
        text = (
            f"The Brennock ferry number {n} sailed at dawn with {n + 12} passengers on board.\n\n"
            f"Its captain said crossing {n} was the calmest of the season."
        )
        texts[article_id(text)] = text
        lines.append(json.dumps({"title": f"Ferry {n}", "text": text}))
    lines.append(lines[0])  # the first article again, in the last file
    for begin in range(0, len(lines), 3):
        (folder / f"part{begin:03d}.jsonl").write_text("\n".join(lines[begin : begin + 3]))
    return texts


@pytest.mark.integration
def test_a_chunked_ingest_stores_what_one_chunk_would(tmp_path, embedder, monkeypatch):
    import vectorstore.ingest as ingest

    folder = tmp_path / "articles"
    folder.mkdir()
    texts = write_articles(folder, 20)
    monkeypatch.setattr(ingest, "CHUNK_CHARS", 400)  # about three articles per chunk
    calls: list[int] = []
    real = ingest.ingest_articles

    def counted(store, embedder_, articles, progress=None):
        calls.append(len(articles))
        return real(store, embedder_, articles, progress)

    monkeypatch.setattr(ingest, "ingest_articles", counted)

    class Bars:
        def __init__(self) -> None:
            self.totals: dict[str, int] = {}
            self.done: dict[str, int] = {}

        def task(self, name: str, total: int):
            self.totals[name] = self.totals.get(name, 0) + total
            self.done.setdefault(name, 0)

            def advance(n: int) -> None:
                self.done[name] += n

            return advance

    bars = Bars()
    assistant = assistant_with(embedder, tmp_path / "home")
    with assistant:
        report = assistant.ingest([folder], bars)
        assert len(calls) >= 5 and max(calls) <= 4  # several chunks, each small
        assert len(report.added) == 20 and len(report.unchanged) == 1 and not report.failed
        assert report.sentences == 40
        check_store(assistant.store, texts, Reference(embedder))
        assert bars.totals["sentences embedded"] == bars.done["sentences embedded"] == 40
        assert bars.totals["files"] == bars.done["files"] == 7


@pytest.mark.unit
def test_the_terminal_bar_of_a_counter_named_again_grows():
    from vectorstore.progress import RichProgress

    with RichProgress(enabled=False) as progress:
        first = progress.task("sentences embedded", 10)
        first(10)
        second = progress.task("sentences embedded", 5)
        second(5)
        [bar] = progress._progress.tasks
        assert (bar.total, bar.completed) == (15, 15)
