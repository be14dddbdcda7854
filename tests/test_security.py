"""Browser and server security of the Gradio app (issue 7, item 5) and hostile questions.

* file routes: path traversal in every spelling, and the store's own files, never served;
* XSS: a wide payload list in an article (text, title, source, URL) and in questions stays
  inert text in headless Chromium;
* uploads over the limit refused, by `ui.app.serve` itself (also when chunked);
* `serve(auth=...)`: nothing but the login page without credentials; everything with them;
* questions of 100k characters, control and right-to-left text through the API.

Extends tests/test_ui_api.py and tests/test_ui_browser.py, which keep the basic cases.
"""

from __future__ import annotations

import http.client
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, urlparse

import httpx
import lxml.html
import pytest
from click.testing import CliRunner
from gradio_client import Client

from tests.ui_server import (
    BRIDGE_QUESTION,
    BRIDGE_SENTENCE,
    Server,
    ask_in_browser,
    free_port,
    open_app,
    running_app,
)

TIMEOUT_MS = 30_000
USER, PASSWORD = "alice", "correct horse battery"
CHAT_DEFAULTS = (5, "extractive", "", "", "")  # k, mode, since, until, source

# -- payloads ---------------------------------------------------------------------------------

# alert(N) numbers are unique, so a dialog names the payload that fired
PAYLOADS = [
    "<svg onload=alert(101)>",
    "<svg><script>alert(102)</script></svg>",
    '<a href="javascript:alert(103)">open the archive</a>',
    '<iframe srcdoc="<script>parent.alert(104)</script>"></iframe>',
    '<div onmouseover="alert(105)" style="position:fixed;inset:0">hover here</div>',
    "[open the archive](javascript:alert(106))",
    "![archive photo](javascript:alert(107))",
    "<javascript:alert(108)>",
    "[the archive][r1] where [r1]: javascript:alert(109)",
    "<img/src=x onerror=alert(110)>",
    "<details open ontoggle=alert(111)>",
    "<body onload=alert(112)>",
    "<input autofocus onfocus=alert(113)>",
    '<object data="javascript:alert(114)"></object>',
    '<embed src="javascript:alert(115)">',
    '<form action="javascript:alert(116)"><button>send</button></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(117)>",
    '"><script>alert(118)</script>',
    "' onmouseover='alert(119)' x='",
    '<base href="http://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(120)">',
    "<link rel=stylesheet href=http://evil.example/x.css>",
    "$$\\href{javascript:alert(121)}{formula}$$",
    '<a href="data:text/html,<script>alert(122)</script>">data link</a>',
    "<style>@import 'http://evil.example/i.css';</style>",
    "<video><source onerror=alert(123)></video>",
    '<p style="background:url(javascript:alert(124))">styled</p>',
    "javascript:alert(125)",
    "<<script>alert(126);//<</script>",
    "&lt;script&gt;alert(127)&lt;/script&gt;",
]
PAYLOAD_TITLE = "Wrenfield museum reopens <svg onload=alert(130)> its banner hall"
PAYLOAD_SOURCE = "<img src=x onerror=alert(131)>Gazette"
PAYLOAD_URL = "https://news.example/wrenfield'onmouseover='alert(132)'\"><script>alert(133)"
PAYLOAD_QUESTION = "What did the Wrenfield museum banner read?"
PAYLOAD_ARTICLE = {
    "title": PAYLOAD_TITLE,
    "source": PAYLOAD_SOURCE,
    "url": PAYLOAD_URL,
    "published": "2025-12-01",
    "text": "The Wrenfield museum reopened its banner hall on Saturday after a year of work.\n\n"
    + " ".join(
        f"The Wrenfield museum banner {n} read {p} in large letters."
        for n, p in enumerate(PAYLOADS, start=1)
    )
    + "\n\nVisitors said the Wrenfield museum banners were the strangest they had seen.",
}
DANGEROUS_TAGS = (
    "script",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "base",
    "meta",
    "link",
    "video",
    "details",
    "math",
    "img",
    "frame",
    "frameset",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("security")
    article = base / "wrenfield.json"
    article.write_text(json.dumps(PAYLOAD_ARTICLE), encoding="utf-8")
    with running_app(base, [article]) as running:
        yield running


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server.url, verbose=False)


def chat(client: Client, question: str) -> tuple[list, str, str, Any]:
    """The final update of /chat: (history, textbox, sources html, answer json)."""
    job = client.submit(question, [], *CHAT_DEFAULTS, api_name="/chat")
    updates = list(job)
    job.result()
    return updates[-1]


def message_text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET exactly `path`: no client-side normalisation of `..`, escapes or backslashes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- path traversal ---------------------------------------------------------------------------

FILE_ROUTES = [
    "/gradio_api/file=",
    "/gradio_api/file/",
    "/file=",
    "/static/",
    "/assets/",
    "/svelte/",
    "/gradio_api/custom_component/x/client/js/",
]
UP = 12  # more ../ than any of these paths is deep


def spellings(target: Path, cwd: Path, upload_dir: Path) -> list[str]:
    """One file's path written every way a traversal filter might miss."""
    absolute = str(target)
    rel = absolute.lstrip("/")
    back = rel.replace("/", "\\")
    return [
        absolute,
        "../" * UP + rel,
        "%2e%2e%2f" * UP + quote(rel, safe=""),
        "%2E%2E%2F" * UP + quote(rel, safe="").upper(),
        "..%2f" * UP + rel,
        "%2e%2e/" * UP + rel,
        "%252e%252e%252f" * UP + quote(quote(rel, safe=""), safe=""),
        "..\\" * UP + back,
        "..%5c" * UP + quote(back, safe=""),
        "..%5C" * UP + back,
        "\\" + back,
        "%c0%ae%c0%ae%c0%af" * UP + rel,
        "....//" * UP + rel,
        "..;/" * UP + rel,
        "/" + absolute,
        "file://" + absolute,
        quote(absolute, safe=""),
        absolute + "%00.txt",
        absolute.upper(),
        os.path.relpath(target, cwd),
        f"{upload_dir}/" + "../" * UP + rel,
        f"{upload_dir}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{rel}",
        "/proc/self/root" + absolute,
    ]


def secret_targets(server: Server) -> list[Path]:
    """/etc/passwd, every file of the store (manifest, Chroma, BM25, lock) and a source file."""
    store_files = sorted(p for p in server.home.rglob("*") if p.is_file())
    assert any(p.name == "manifest.sqlite3" for p in store_files)
    assert any(p.name == "chroma.sqlite3" for p in store_files)
    assert any(p.suffix == ".bin" for p in store_files)
    return [
        Path("/etc/passwd"),
        *store_files,
        server.base / "quillmoor_lighthouse.txt",
        Path.cwd() / "pyproject.toml",
    ]


def leaked(body: bytes, secret: bytes) -> bool:
    markers = [b"root:x:0:0", b"SQLite format 3"]
    if len(secret) >= 24:
        markers.append(secret[:24])
    return any(m in body for m in markers)


@pytest.mark.integration
def test_file_routes_never_serve_secrets(server, capsys):
    """Every route that serves files, every spelling of every target: 403/404, no bytes."""
    import gradio.utils

    upload_dir = Path(gradio.utils.get_upload_folder())
    statuses: Counter[int] = Counter()
    bad = []
    for target in secret_targets(server):
        secret = target.read_bytes()
        for route in FILE_ROUTES:
            for spelled in spellings(target, Path.cwd(), upload_dir):
                status, body = raw_get(server.port, route + spelled)
                statuses[status] += 1
                if status not in (403, 404) or leaked(body, secret):
                    bad.append((route + spelled, status, body[:120]))
    with capsys.disabled():
        print(f"\ntraversal attempts: {sum(statuses.values())}, statuses {dict(statuses)}")
    assert not bad, bad[:10]
    assert sum(statuses.values()) > 1000


@pytest.mark.integration
def test_normalising_client_gets_no_secrets_either(server):
    """httpx resolves ../ itself; what it sends must be refused as well."""
    for target in (Path("/etc/passwd"), server.home / "manifest.sqlite3"):
        up = "../../../../../.."
        for path in (
            f"/gradio_api/file={target}",
            f"/gradio_api/file={up}{target}",
            f"/static/{up}{target}",
            f"/assets/{up}{target}",
        ):
            response = httpx.get(server.url + path, timeout=10)
            assert response.status_code in (403, 404), (path, response.status_code)
            assert not leaked(response.content, target.read_bytes())


@pytest.mark.integration
@pytest.mark.parametrize("route", ["/gradio_api/file=", "/gradio_api/proxy="])
def test_no_requests_to_local_services(server, route):
    """The file and proxy routes must not fetch loopback URLs (the app itself, a Chroma
    server) on a caller's behalf."""
    for host in ("127.0.0.1", "localhost", "[::1]", "127.1", "0.0.0.0", "2130706433"):
        status, body = raw_get(server.port, f"{route}http://{host}:{server.port}/config")
        assert status in (400, 403, 404), (host, status)
        assert b"api_prefix" not in body and b"components" not in body


# -- XSS: what the server sends ----------------------------------------------------------------


def assert_inert_html(fragment: str) -> None:
    """Our sources HTML: only our own tags, no handlers, links only http(s)."""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for element in root.iter():
        assert isinstance(element.tag, str) and element.tag in (
            "div",
            "ol",
            "li",
            "span",
            "a",
            "p",
            "mark",
            "strong",
            # issue 16, item 4: the article view (<section hidden>) and the button opening it,
            # both citeqa's own, inert without the panel's script, no handler attributes
            "section",
            "button",
        ), element.tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name, value)
            if name in ("href", "src", "action", "formaction", "srcdoc", "data"):
                assert name == "href" and urlparse(value).scheme in ("http", "https"), value


@pytest.mark.integration
def test_payload_article_answer_and_sources_are_escaped(client):
    history, _, sources, data = chat(client, PAYLOAD_QUESTION)

    assert not data["abstained"], data
    cited = [c for c in data["citations"] if c["title"] == PAYLOAD_TITLE]
    assert cited, data["citations"]
    assert_inert_html(sources)
    document = lxml.html.fragment_fromstring(sources, create_parent="div")
    text = document.text_content()
    assert PAYLOAD_TITLE in text
    shown = [p for p in PAYLOADS if p.replace("\n", " ") in text]
    assert len(shown) == len(PAYLOADS), set(PAYLOADS) - set(shown)  # whole paragraph, as text
    links = [a.get("href") for a in document.iter("a")]
    assert links == [PAYLOAD_URL] * len(links) and links, links  # the quote breakout stayed in
    reply = message_text(history[-1])
    assert "Wrenfield museum banner" in reply
    assert "<" not in reply.replace("\\<", ""), reply  # every < is markdown-escaped
    assert "](" not in reply.replace("\\]\\(", ""), reply  # no live markdown link or image


# -- hostile questions through the API ---------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("size", [100_000, 1_000_000])
def test_huge_question_is_a_clear_error(client, size):
    question = ("How many vehicles cross the bridge? " * (size // 36 + 1))[:size]
    with pytest.raises(Exception) as caught:
        client.predict(question, api_name="/ask")
    assert f"question is {len(' '.join(question.split()))} characters" in str(caught.value)
    assert "the limit is 2000" in str(caught.value)

    history, textbox, _, data = chat(client, question)
    assert data is None
    reply = message_text(history[-1]).replace("\\", "")
    assert reply.startswith("⚠") and "the limit is 2000" in reply
    assert textbox == question


@pytest.mark.integration
def test_huge_question_over_raw_http_is_not_a_server_error(server):
    """Straight to the queue, bypassing gradio_client: a 4xx/200 with the message, never 5xx."""
    response = httpx.post(
        f"{server.url}/gradio_api/call/ask",
        json={"data": ["x" * 100_000, 5, "", "", ""]},
        timeout=30,
    )
    assert response.status_code == 200, response.text[:300]
    event = response.json()["event_id"]
    stream = httpx.get(f"{server.url}/gradio_api/call/ask/{event}", timeout=60).text
    assert "event: error" in stream
    assert "the limit is 2000" in stream


@pytest.mark.integration
@pytest.mark.parametrize(
    "question",
    [
        "\u200b\u200c\u200d\ufeff\u2060",
        "\x00\x01\x1b\x7f\x9b\r\n\t",
        "\u202e\u2066\u2069",
    ],
)
def test_invisible_only_questions_are_empty(client, question):
    with pytest.raises(Exception) as caught:
        client.predict(question, api_name="/ask")
    assert "question is empty" in str(caught.value)


@pytest.mark.integration
def test_noisy_and_right_to_left_questions_through_the_api(client):
    plain = client.predict(BRIDGE_QUESTION, api_name="/ask")
    noisy = client.predict(
        "\u202eHow\u200b many\x00 vehicles cross the Old\x1b Tanner "
        "Bridge on a\u2066 weekday?\u2069\r\n",
        api_name="/ask",
    )
    assert noisy["question"] == BRIDGE_QUESTION
    assert noisy["text"] == plain["text"]
    assert noisy["citations"][0]["sentence"] == BRIDGE_SENTENCE
    for question in (
        "كم عدد المركبات التي تعبر جسر Old Tanner يوميا؟",
        "כמה כלי רכב חוצים את גשר Old Tanner ביום חול?",
    ):
        answer = client.predict(question, api_name="/ask")
        assert answer["question"] == question
        assert answer["abstained"] or answer["citations"]


# -- authentication and upload limits of ui.app.serve -------------------------------------------


@pytest.fixture(scope="module")
def guarded(server) -> Iterator[str]:
    """`ui.app.serve` itself (not the test helper) with auth and a 1 MB upload limit."""
    import ui.app

    built = []
    real_build = ui.app.build_app

    def capture(assistant, fetch=None):
        built.append(real_build(assistant, fetch))
        return built[-1]

    port = free_port()
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(ui.app, "build_app", capture))
        ui.app.serve(
            server.assistant,
            host="127.0.0.1",
            port=port,
            max_upload_mb=1,
            auth=(USER, PASSWORD),
            block=False,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        built[0].close()


PROTECTED = [
    ("GET", "/config"),
    ("GET", "/gradio_api/info"),
    ("GET", "/gradio_api/openapi.json"),
    ("GET", "/gradio_api/queue/data?session_hash=abc"),
    ("GET", "/monitoring"),
    ("GET", "/gradio_api/file=/etc/passwd"),
    ("GET", "/gradio_api/upload_progress?upload_id=a"),
    ("POST", "/gradio_api/call/ask"),
    ("POST", "/gradio_api/call/articles"),
    ("POST", "/gradio_api/call/remove_ids"),
    ("POST", "/gradio_api/queue/join"),
    ("POST", "/gradio_api/run/ask"),
    ("POST", "/gradio_api/api/ask"),
    ("POST", "/gradio_api/upload"),
]


@pytest.mark.integration
def test_auth_refuses_every_unauthenticated_request(guarded, server):
    body = {"data": [BRIDGE_QUESTION], "fn_index": 0, "session_hash": "abc"}
    for method, path in PROTECTED:
        response = httpx.request(method, guarded + path, json=body, timeout=10)
        assert response.status_code == 401, (method, path, response.status_code)
        assert "9,600" not in response.text and "root:" not in response.text
    page = httpx.get(guarded + "/", timeout=10)
    assert page.status_code == 200  # Gradio's login page ...
    for secret in ("citeqa-q", "Old Tanner", "Wrenfield", "citeqa-articles"):
        assert secret not in page.text, secret  # ... without the app or the articles
    with pytest.raises(Exception, match="credentials"):
        Client(guarded, verbose=False)
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a bare ValueError here
        Client(guarded, auth=(USER, "wrong password"), verbose=False)
    response = httpx.post(guarded + "/login", data={"username": USER, "password": "wrong"})
    assert response.status_code in (400, 401)
    assert not response.cookies


@pytest.mark.integration
def test_auth_lets_the_right_user_in(guarded):
    session = httpx.Client(base_url=guarded, timeout=30)
    login = session.post("/login", data={"username": USER, "password": PASSWORD})
    assert login.status_code == 200 and session.cookies
    assert "citeqa-q" in session.get("/").text
    assert session.get("/config").status_code == 200

    client = Client(guarded, auth=(USER, PASSWORD), verbose=False)
    answer = client.predict(BRIDGE_QUESTION, api_name="/ask")
    assert answer["citations"][0]["sentence"] == BRIDGE_SENTENCE
    assert any(a["title"] == PAYLOAD_TITLE for a in client.predict(api_name="/articles"))


def _multipart(size: int) -> tuple[bytes, str]:
    boundary = "citeqa-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
    ).encode()
    body += b"A sentence about nothing in particular. " * (size // 40) + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.integration
def test_serve_refuses_uploads_over_its_limit(guarded):
    session = httpx.Client(base_url=guarded, timeout=60)
    assert session.post("/login", data={"username": USER, "password": PASSWORD}).is_success
    small, content_type = _multipart(900_000)
    response = session.post(
        "/gradio_api/upload", content=small, headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text[:200]  # under the limit: taken
    big, content_type = _multipart(1_300_000)
    response = session.post(
        "/gradio_api/upload", content=big, headers={"Content-Type": content_type}
    )
    assert response.status_code == 413, response.text[:200]

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit must count bytes
        for begin in range(0, len(big), 65536):
            yield big[begin : begin + 65536]

    response = session.post(
        "/gradio_api/upload", content=chunked(), headers={"Content-Type": content_type}
    )
    assert response.status_code == 413, response.text[:200]


@pytest.mark.unit
@pytest.mark.parametrize("auth", ["alice", "alice:", ":secret"])
def test_cli_refuses_malformed_auth(auth, tmp_path):
    """A typo in --auth must stop the server, not start it open."""
    from ui.cli import main

    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--auth", auth])
    assert result.exit_code != 0
    assert "--auth must be USER:PASSWORD" in result.output


# -- XSS in headless Chromium -------------------------------------------------------------------


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    dialogs: list[str] = []
    requests: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda request: requests.append(request.url))
    page.on("popup", lambda popup: dialogs.append(f"popup: {popup.url}"))
    page.dialogs, page.requests = dialogs, requests
    open_app(page, server.url)
    yield page
    context.close()


SCAN = """([areas, tags]) => {
  const found = [];
  for (const sel of areas) {
    for (const el of document.querySelectorAll(sel + ' *')) {
      const tag = el.tagName.toLowerCase();
      if (tags.includes(tag)) found.push(sel + ' <' + tag + '>');
      for (const a of el.attributes) {
        const v = a.value.trim().toLowerCase();
        if (a.name.startsWith('on')) found.push(sel + ' ' + tag + '[' + a.name + ']');
        if (['href', 'src', 'action', 'formaction', 'data', 'srcdoc', 'xlink:href']
            .includes(a.name) && (v.startsWith('javascript:') || v.startsWith('data:text')
            || v.includes('evil.example')))
          found.push(sel + ' ' + tag + '[' + a.name + '=' + v + ']');
      }
    }
  }
  return found;
}"""


def assert_nothing_ran(page, areas: list[str], tags: Sequence[str] = DANGEROUS_TAGS) -> None:
    """No dialog, popup, flag, foreign request or redirect; in `areas` no handler attribute,
    no script-capable URL and none of `tags`."""
    for area in areas:  # hover and click everything an event handler could hang on
        box = page.locator(area).bounding_box()
        if box:
            for fx in (0.1, 0.5, 0.9):
                for fy in (0.1, 0.5, 0.9):
                    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            page.locator(area).click(position={"x": 5, "y": 5})
    page.wait_for_timeout(300)  # let late handlers, frames and requests surface
    assert page.dialogs == []
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.evaluate(SCAN, [areas, list(tags)]) == []
    assert page.evaluate("getComputedStyle(document.body).display") != "none"
    foreign = [
        u
        for u in page.requests
        if urlparse(u).scheme not in ("data", "blob")
        and urlparse(u).hostname not in ("127.0.0.1", "localhost")
    ]
    assert foreign == []
    assert urlparse(page.url).hostname == "127.0.0.1"  # no redirect (meta refresh, base)


@pytest.mark.browser
def test_article_payloads_stay_inert_in_chromium(page):
    ask_in_browser(page, PAYLOAD_QUESTION)

    sources = page.inner_text("#citeqa-sources")
    answer = page.locator("#citeqa-chat [data-testid='bot']").last.inner_text()
    assert PAYLOAD_TITLE in sources
    assert "[1]" in answer and "Wrenfield museum banner" in answer
    visible = [p for p in PAYLOADS if " ".join(p.split()) in " ".join(sources.split())]
    assert len(visible) == len(PAYLOADS), set(PAYLOADS) - set(visible)  # shown as characters
    assert_nothing_ran(page, ["#citeqa-chat", "#citeqa-sources"])


@pytest.mark.browser
def test_question_payloads_stay_inert_in_chromium(page):
    question = "Wrenfield museum? " + " ".join(PAYLOADS)
    assert len(question) < 2000

    ask_in_browser(page, question)

    user = page.locator("#citeqa-chat [data-testid='user']").last.inner_text()
    for payload in (
        "<svg onload=alert(101)>",
        "javascript:alert(103)",
        "srcdoc=",
        "[open the archive](javascript:alert(106))",
        "<base href=",
    ):
        assert payload in user, payload
    assert_nothing_ran(page, ["#citeqa-chat", "#citeqa-sources"])


@pytest.mark.browser
def test_payload_title_and_source_stay_inert_in_lists(page, server):
    """Examples, the source filter and the Articles tab show the hostile title as text."""
    from playwright.sync_api import expect

    from ui.examples import example_questions  # checked questions now (issue 16, item 5)

    examples = example_questions(server.assistant)
    assert examples
    for question in examples:  # shown as text; the examples block may render after the box
        expect(page.locator("body")).to_contain_text(question, timeout=15_000)
    page.locator("button.label-wrap", has_text="Settings").click()
    source = page.get_by_role("combobox", name="Source")
    source.click()
    option = page.get_by_role("option", name=PAYLOAD_SOURCE)
    assert option.inner_text().strip() == PAYLOAD_SOURCE
    assert_nothing_ran(page, ["body"], tags=())  # Gradio's own inputs live in the page
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Articles").click()
    table = page.locator("#citeqa-articles")
    table.wait_for()
    assert PAYLOAD_TITLE in table.inner_text()
    assert_nothing_ran(page, ["#citeqa-articles"], [t for t in DANGEROUS_TAGS if t != "input"])
    assert_nothing_ran(page, ["body"], tags=())


@pytest.mark.browser
def test_detectors_catch_a_live_payload(page):
    """Control: the same checks fail on markup that really is live, so a pass means something."""
    page.evaluate("""() => {
      const s = document.querySelector('#citeqa-sources');
      s.insertAdjacentHTML('beforeend', '<img src=x onerror="alert(999)">');
    }""")
    page.wait_for_timeout(300)
    assert page.dialogs == ["alert: 999"]
    page.dialogs.clear()
    with pytest.raises(AssertionError):
        assert_nothing_ran(page, ["#citeqa-sources"])
