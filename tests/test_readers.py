"""Several answering processes over one store: one writer (this test process) and two
`citeqa --read-only serve` readers on the same embedded store. What the writer stores reaches
the readers within seconds, and under a stream of questions no reader ever cites a sentence
that is not, verbatim, in a committed article."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store_invariants import assistant_with
from tests.ui_server import free_port

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "articles"
NEW_QUESTION = "Which choir won the Quarrymoor singing contest?"
NEW_ARTICLE = {
    "title": "Quarrymoor singing contest won by the Linnet Choir",
    "published": "2025-08-02",
    "source": "Quarrymoor Echo",
    "text": "The Linnet Choir won the Quarrymoor singing contest on Saturday with a medley of "
    "harbour songs.\n\nJudges said the choir's harmonies were the finest heard in the contest's "
    "forty-year history.",
}

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def start_reader(home: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "ui.cli", "--home", str(home), "--read-only"]
    command += ["serve", "--port", str(port)]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_until_up(url: str, proc: subprocess.Popen, seconds: float = 240) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"reader exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"reader at {url} did not start")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, embedder) -> Iterator[tuple]:
    base = tmp_path_factory.mktemp("readers")
    home = base / "home"
    writer = assistant_with(embedder, home)
    readers: list[tuple[subprocess.Popen, str]] = []
    try:
        assert not writer.ingest([SAMPLES]).failed
        readers = [start_reader(home), start_reader(home)]
        for proc, url in readers:
            wait_until_up(url, proc)
        yield writer, [url for _, url in readers], base, [proc.pid for proc, _ in readers]
    finally:
        for proc, _ in readers:
            proc.terminate()
            proc.wait(timeout=30)
        writer.close()


def test_writes_reach_the_readers_and_no_half_written_article_is_cited(cluster):
    from gradio_client import Client

    writer, urls, base, _ = cluster
    clients = [Client(url, verbose=False) for url in urls]
    for client in clients:
        before = client.predict(NEW_QUESTION, api_name="/ask")
        assert before["abstained"] or "Linnet" not in before["text"]

    stored_texts = {a.id: writer.store.text(a.id) for a in writer.articles()}
    seen: list[dict] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def hammer(client) -> None:  # questions all through the writer's ingest
        questions = [NEW_QUESTION, "How much will the Old Tanner Bridge replacement cost?"]
        try:
            while not stop.is_set():
                for question in questions:
                    seen.append(client.predict(question, api_name="/ask"))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=hammer, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    article = base / "quarrymoor.json"
    article.write_text(json.dumps(NEW_ARTICLE), encoding="utf-8")
    written = time.monotonic()
    report = writer.ingest([article])
    assert len(report.added) == 1
    stored_texts.update({a.id: writer.store.text(a.id) for a in writer.articles()})

    reached = {}
    deadline = written + 60
    while len(reached) < len(clients) and time.monotonic() < deadline:
        for number, client in enumerate(clients):
            if number not in reached:
                answer = client.predict(NEW_QUESTION, api_name="/ask")
                if not answer["abstained"] and "Linnet Choir" in answer["text"]:
                    reached[number] = time.monotonic() - written
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(reached) == len(clients), f"readers that saw the new article: {reached}"
    assert max(reached.values()) < 30
    assert len(seen) >= 4
    for answer in seen:  # every citation verbatim at its offsets in a committed article
        for citation in answer["citations"]:
            text = stored_texts.get(citation["article_id"])
            assert text is not None, citation
            assert text[citation["start"] : citation["end"]] == citation["sentence"]


def test_a_reader_refuses_to_write(cluster):
    from click.testing import CliRunner

    from ui.cli import main

    writer, _, _, _ = cluster
    done = CliRunner().invoke(
        main, ["--home", str(writer.settings.home), "--read-only", "remove", "0123"]
    )
    assert done.exit_code != 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ui.cli", "--home", str(writer.settings.home)]
    ingest = subprocess.run(
        [*command, "--read-only", "ingest", "--quiet", str(SAMPLES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ingest.returncode == 1
    assert "open read-only in this process" in ingest.stderr


def test_a_reader_answers_without_torch(cluster):
    """A reader never embeds an article: its questions go through the model's ONNX export,
    and torch (with the model, ~430 MB of a process: bench/serve_memory.py) is never loaded."""
    from gradio_client import Client

    _, urls, _, pids = cluster
    answer = Client(urls[0], verbose=False).predict(
        "How many vehicles cross the Old Tanner Bridge on a weekday?", api_name="/ask"
    )
    assert "9,600 vehicles" in answer["text"]
    for pid in pids:
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "onnxruntime" in maps
        assert "libtorch" not in maps
