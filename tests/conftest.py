"""Shared fixtures: the real packaged model (loaded once), real Chroma stores, a chroma server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# the query encoder's ONNX export (vectorstore/query_encoder.py) goes to a cache of the run's own
os.environ.setdefault("CITEQA_CACHE_DIR", tempfile.mkdtemp(prefix="citeqa-test-cache-"))

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "articles"
SAMPLE_QUESTIONS = ROOT / "samples" / "questions.jsonl"
SHARED = ROOT.parent / "shared"
SEED_DIR = SHARED / "seeds"


@pytest.fixture(scope="session")
def embedder():
    from vectorstore.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture
def seed_file() -> Path:
    files = sorted(SEED_DIR.glob("*.txt")) if SEED_DIR.is_dir() else []
    if not files:
        pytest.skip("../shared/seeds is not present")
    return files[0]


@pytest.fixture
def settings(tmp_path):
    from vectorstore.settings import Settings

    return Settings(home=tmp_path / "home")


@pytest.fixture
def store(settings, embedder):
    from vectorstore.store import open_store

    s = open_store(settings, embedder)
    yield s
    s.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> Iterator[str]:
    """A real `chroma run` server on a free local port; yields its URL."""
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(chroma).exists():
        pytest.fail("the `chroma` command (from chromadb) is not installed")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("wb")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((data / "server.log").read_text(errors="replace")) from None
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("chroma server did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright (its own browser download fails here)."""
    from tests.ui_server import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


TIERS = frozenset({"unit", "integration", "browser"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test belongs to exactly one tier, and a `unit` test never loads the model: a
    mislabelled test would make `-m unit` slow or hide a real dependency."""
    wrong = []
    for item in items:
        tiers = {mark.name for mark in item.iter_markers()} & TIERS
        if len(tiers) != 1:
            wrong.append(f"{item.nodeid}: tier markers {sorted(tiers) or 'none'}")
        elif "unit" in tiers and "embedder" in getattr(item, "fixturenames", ()):
            wrong.append(f"{item.nodeid}: marked unit but loads the embedding model")
    if wrong:
        raise pytest.UsageError("test markers:\n  " + "\n  ".join(wrong))


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory, embedder) -> Iterator[Path]:
    """A store of samples/articles built with the session's model; assistants over it in the
    module share that model too (no second copy loaded)."""
    from qa import Assistant
    from tests.store_invariants import share_model

    home = tmp_path_factory.mktemp("samples") / "home"
    patch = pytest.MonkeyPatch()
    share_model(patch, embedder)
    with Assistant(home=home) as assistant:
        assert not assistant.ingest([SAMPLES]).failed
    yield home
    patch.undo()
