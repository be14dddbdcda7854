"""The real citeqa Gradio app in-process, for the UI, API and security tests.

`running_app(base, extra)` builds an Assistant on a fresh home under `base`, ingests the samples,
an article full of HTML/markdown payloads (the "Quillmoor lighthouse" one) and any `extra` files
before the app is built (so their titles reach the examples and lists), launches the app on
a free 127.0.0.1 port with the same safety settings as `ui.app.serve`, and closes it all after.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "articles"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

XSS_TITLE = "Quillmoor lighthouse keeper restores the old lamp"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert(2)</script>"
XSS_STYLE = "<style>body{display:none}</style>"
XSS_PIXEL = "![pixel](http://evil.example/p.png)"
XSS_LINK = "[click](http://evil.example/x)"
# answers are one sentence unless the question asks for more: one question per payload sentence
XSS_QUESTION = "What did the Quillmoor lighthouse keeper write on the logbook cover as a joke?"
XSS_NOTE_QUESTION = "What note did visitors find pinned to the door of the Quillmoor lighthouse?"
XSS_ARTICLE = f"""{XSS_TITLE}
Published: 2025-05-02

The Quillmoor lighthouse was repainted this spring after a storm stripped its red bands. \
The keeper wrote {XSS_IMG} on the logbook cover as a joke about broken images.

Visitors to the Quillmoor lighthouse found a note reading {XSS_SCRIPT} pinned to the door. \
A sign saying {XSS_STYLE} hung beside the Quillmoor lighthouse lamp room.

The Quillmoor lighthouse guide printed {XSS_PIXEL} on its leaflet. \
The leaflet also says {XSS_LINK} next to the ferry times for the Quillmoor lighthouse.
"""

BRIDGE_QUESTION = "How many vehicles cross the Old Tanner Bridge on a weekday?"
BRIDGE_TITLE = "Marrowby council approves £14.2 million replacement for Old Tanner Bridge"
BRIDGE_SENTENCE = (
    "The bridge was built in 1923 and carries about 9,600 vehicles on an average weekday, "
    "according to the council's most recent traffic survey."
)


@dataclass
class Server:
    url: str
    port: int
    home: Path
    base: Path
    assistant: Any
    app: Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(base: Path, extra: Sequence[Path] = (), fetch: Any = None) -> Iterator[Server]:
    from qa.assistant import Assistant
    from ui.app import build_app

    home = base / "home"
    xss = base / "quillmoor_lighthouse.txt"
    xss.write_text(XSS_ARTICLE, encoding="utf-8")
    assistant = Assistant(home=home)
    try:
        report = assistant.ingest([SAMPLES, xss, *extra])
        assert not report.failed, report.summary()
        app = build_app(assistant, fetch)
        app.queue()
        port = free_port()
        app.launch(
            server_name="127.0.0.1",
            server_port=port,
            prevent_thread_lock=True,
            ssr_mode=False,
            share=False,
            blocked_paths=[str(home)],
            max_file_size="1mb",
            quiet=True,
        )
        try:
            yield Server(f"http://127.0.0.1:{port}", port, home, base, assistant, app)
        finally:
            app.close()
    finally:
        assistant.close()


# the chat's parts a test reads; Gradio renders them one after another after the page loads
APP_PARTS = ("#citeqa-q textarea", "#citeqa-chat", "#citeqa-sources")


def open_app(page, url: str) -> None:
    """Load the chat and wait until all of its parts are on the page (reading or changing the
    page as soon as the question box shows found the sources panel not there yet)."""
    page.goto(url, wait_until="domcontentloaded")
    for selector in APP_PARTS:
        page.wait_for_selector(selector)


def ask_in_browser(page, question: str) -> None:
    """Type a question in the chat, press Enter, wait until its sources (or "No sources") show."""
    from playwright.sync_api import expect

    box = page.locator("#citeqa-q textarea")
    box.fill(question)
    box.press("Enter")
    expect(page.locator("#citeqa-chat [data-testid='user']").last).to_contain_text(question[:12])
    page.wait_for_function(
        "() => { const s = document.querySelector('#citeqa-sources');"
        " return s && (s.querySelector('mark') || s.innerText.includes('No sources')); }"
    )
    expect(box).to_have_value("")
