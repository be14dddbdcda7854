"""Concurrent use of the real Gradio app, launched by `ui.app.serve` (queue of 64, answers 4 at a
time): 20 clients ask for 60 s while 200 articles are ingested through /upload.

No request may fail or be rejected, no article may be lost, every citation must be stored text,
and questions about articles present from the start must be answered throughout. Latency
p50/p95 are printed and, with CITEQA_RELIABILITY_OUT=path, written to that JSON file.

Two processes on one embedded store (the second gets "store is in use"): covered by
tests/test_store_contract.py::TestEmbeddedStore::test_store_in_use_from_another_process, and for
the command line by tests/test_cli.py::test_store_in_use_is_reported; not repeated here.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from qa.assistant import Assistant
from tests.store_invariants import council, percentile, report, share_model
from tests.ui_server import BRIDGE_QUESTION, BRIDGE_SENTENCE, SAMPLES, free_port
from ui.app import serve
from vectorstore.loaders import load_file
from vectorstore.types import Article

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLIENTS = 20
CHAT_CLIENTS = 4  # of the 20, these use the streaming /chat endpoint, the rest /ask
SECONDS = 60.0
UPLOAD_AFTER = 5.0  # seconds into the run
ORIGINAL = range(0, 300)  # council articles stored before the run (plus the samples)
UPLOADED = range(300, 500)  # the 200 articles ingested through /upload during the run
REQUEST_TIMEOUT = 120.0


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"ask": [], "chat": []})
    failures: list[str] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, endpoint: str, seconds: float, answer: dict[str, Any]) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)
            self.answers.append(answer)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


@dataclass
class Served:
    url: str
    assistant: Assistant
    upload_dir: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[Served]:
    """The app as `citeqa serve` runs it, over the samples and 300 council articles."""
    base = tmp_path_factory.mktemp("concurrency")
    originals = base / "originals"
    originals.mkdir()
    for number in ORIGINAL:
        council(number).write(originals)
    uploads = base / "uploads"
    uploads.mkdir()
    for number in UPLOADED:
        council(number).write(uploads)
    with pytest.MonkeyPatch.context() as patch:  # the session's model, not a second copy
        share_model(patch, embedder)
        assistant = Assistant(home=base / "home")
    try:
        ingested = assistant.ingest([SAMPLES, originals])
        assert not ingested.failed and len(ingested.added) == 6 + len(ORIGINAL)
        port = free_port()
        server_app, url, _ = serve(assistant, host="127.0.0.1", port=port, block=False)
        try:
            yield Served(url.rstrip("/"), assistant, uploads)
        finally:
            server_app.get_blocks().close()
    finally:
        assistant.close()


def _check(question: str, answer: dict[str, Any], expect: str | None) -> str | None:
    """None if the answer is right; else what is wrong."""
    if not isinstance(answer, dict) or {"text", "citations", "abstained"} - answer.keys():
        return f"malformed answer {answer!r:.200}"
    for citation in answer["citations"]:
        if f"[{citation['n']}]" not in answer["text"]:
            return f"citation [{citation['n']}] not in the text"
    if expect is not None:
        if answer["abstained"]:
            timings = answer.get("timings") or {}
            return (
                f"abstained on a question about a stored article (confidence "
                f"{timings.get('confidence')}, {len(answer.get('evidence') or [])} evidence)"
            )
        if not any(expect in c["sentence"] for c in answer["citations"]):
            return f"no citation contains {expect!r}: {answer['text'][:200]}"
    return None


def upload_over_http(url: str, files: list[Path]) -> str:
    """What the browser does: all files in one POST to /gradio_api/upload, then the /upload
    event through Gradio's plain HTTP API (POST /call/upload, then its event stream)."""
    with httpx.Client(timeout=REQUEST_TIMEOUT) as http:
        sent = http.post(
            f"{url}/gradio_api/upload",
            files=[("files", (f.name, f.read_bytes(), "application/json")) for f in files],
        )
        sent.raise_for_status()
        data = [
            {"path": path, "orig_name": f.name, "meta": {"_type": "gradio.FileData"}}
            for path, f in zip(sent.json(), files, strict=True)
        ]
        call = http.post(f"{url}/gradio_api/call/upload", json={"data": [data]})
        call.raise_for_status()
        event = call.json()["event_id"]
        kind = ""
        with http.stream("GET", f"{url}/gradio_api/call/upload/{event}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind == "error":
                    raise RuntimeError(f"/upload failed: {line}")
                elif line.startswith("data: ") and kind == "complete":
                    return str(json.loads(line.removeprefix("data: "))[0])
    raise RuntimeError("/upload ended without a result")


def _asker(url: str, number: int, stop: float, tally: Tally, uploaded: threading.Event) -> None:
    """Ask until `stop` and until the upload has finished."""
    rng = random.Random(number)
    endpoint = "chat" if number < CHAT_CLIENTS else "ask"
    try:
        client = Client(url, verbose=False)
    except Exception as err:
        tally.fail(f"client {number} could not connect: {err!r}")
        return
    while time.monotonic() < stop or not uploaded.is_set():
        roll = rng.random()
        expect: str | None
        if roll < 0.2:
            question, expect = BRIDGE_QUESTION, "9,600"
        else:
            article = council(rng.choice(UPLOADED if roll < 0.5 else ORIGINAL))
            new = article.number in UPLOADED
            question = article.question
            expect = article.answer if not new or uploaded.is_set() else None
        t0 = time.perf_counter()
        try:
            if endpoint == "ask":
                answer = client.submit(question, api_name="/ask").result(REQUEST_TIMEOUT)
            else:
                job = client.submit(question, [], 5, "extractive", "", "", "", api_name="/chat")
                answer = job.result(REQUEST_TIMEOUT)[3]
        except Exception as err:
            tally.fail(f"{endpoint} {question!r}: {err!r}")
            continue
        seconds = time.perf_counter() - t0
        problem = _check(question, answer, expect)
        if problem:
            tally.fail(
                f"{endpoint} {question!r}: {problem} (asked at {t0:.1f}, "
                f"answered at {time.perf_counter():.1f})"
            )
        else:
            tally.ok(endpoint, seconds, answer)


def test_twenty_clients_ask_while_200_articles_are_uploaded(served):
    """Zero failed or rejected requests, zero lost articles, only stored text cited."""
    before = {a.id for a in served.assistant.articles()}
    files = sorted(served.upload_dir.glob("*.json"))
    assert len(files) == len(UPLOADED)
    new_ids = {a.id for f in files for a in load_file(f) if isinstance(a, Article)}
    assert len(new_ids) == len(UPLOADED) and not new_ids & before

    tally = Tally()
    uploaded = threading.Event()
    upload: dict[str, Any] = {}
    started = time.monotonic()
    stop = started + SECONDS

    def uploader() -> None:
        time.sleep(UPLOAD_AFTER)
        t0 = time.perf_counter()
        try:
            upload["result"] = upload_over_http(served.url, files)
        except Exception as err:
            upload["error"] = repr(err)
        finally:
            upload["seconds"] = time.perf_counter() - t0
            upload["finished_at"] = round(time.perf_counter(), 1)
            uploaded.set()

    threads = [
        threading.Thread(target=_asker, args=(served.url, n, stop, tally, uploaded))
        for n in range(CLIENTS)
    ]
    threads.append(threading.Thread(target=uploader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 3 * REQUEST_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a client hung"
    seconds = time.monotonic() - started

    listed = Client(served.url, verbose=False).predict(api_name="/articles")
    listed_ids = [a["id"] for a in listed]
    lost = (before | new_ids) - set(listed_ids)
    everything = tally.latencies["ask"] + tally.latencies["chat"]
    requests = len(everything) + len(tally.failures)
    result = {
        "clients": CLIENTS,
        "seconds": round(seconds, 1),
        "requests": requests,
        "failed": len(tally.failures),
        "articles_lost": len(lost),
        "articles_before": len(before),
        "uploaded": len(new_ids),
        "upload_seconds": round(upload["seconds"], 1),
        "p50_ms": round(1000 * percentile(everything, 50)),
        "p95_ms": round(1000 * percentile(everything, 95)),
        "ask_p50_ms": round(1000 * percentile(tally.latencies["ask"], 50)),
        "ask_p95_ms": round(1000 * percentile(tally.latencies["ask"], 95)),
        "chat_p50_ms": round(1000 * percentile(tally.latencies["chat"], 50)),
        "chat_p95_ms": round(1000 * percentile(tally.latencies["chat"], 95)),
    }
    report("concurrency", result)

    assert "error" not in upload, upload
    kinds = Counter(re.sub(r"'[^']*'", "'…'", f.split(" (asked at")[0]) for f in tally.failures)
    assert not tally.failures, (
        f"{len(tally.failures)} failed, by kind {dict(kinds)}; first: "
        f"{tally.failures[:5]}; upload finished at "
        f"{upload['finished_at']}"
    )
    assert f"{len(UPLOADED)} added, 0 unchanged, 0 replaced, 0 failed" in upload["result"]
    assert len(listed_ids) == len(set(listed_ids)), "an article is listed twice"
    assert set(listed_ids) == before | new_ids, f"lost {sorted(lost)[:5]}"
    assert all(len(tally.latencies[e]) >= CLIENTS // 4 for e in ("ask", "chat")), requests

    store = served.assistant.store
    stored = set(store.article_ids())
    for answer in tally.answers:  # every citation of every answer given is stored text
        for c in answer["citations"]:
            assert c["article_id"] in stored
            assert store.text(c["article_id"])[c["start"] : c["end"]] == c["sentence"]
    bridge = [a for a in tally.answers if a["question"] == BRIDGE_QUESTION]
    assert bridge and all(
        any(c["sentence"] == BRIDGE_SENTENCE for c in a["citations"]) for a in bridge
    )
