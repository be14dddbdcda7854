"""The Gradio app over HTTP: its API endpoints (gradio_client) and its file routes (raw HTTP)."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.ui_server import (
    BRIDGE_QUESTION,
    BRIDGE_SENTENCE,
    BRIDGE_TITLE,
    XSS_IMG,
    XSS_NOTE_QUESTION,
    XSS_QUESTION,
    XSS_SCRIPT,
    XSS_TITLE,
    Server,
    running_app,
)

pytestmark = pytest.mark.integration

CHAT_DEFAULTS = (5, "extractive", "", "", "")  # k, mode, since, until, source


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    with running_app(tmp_path_factory.mktemp("ui-api")) as running:
        yield running


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server.url, verbose=False)


def chat(client: Client, question: str, history: list | None = None, *filters: str) -> list:
    """Every update /chat streams, in order; each is (history, textbox, sources html, json)."""
    k, mode, since, until, source = CHAT_DEFAULTS
    since, until, source = (*filters, since, until, source)[:3]
    job = client.submit(question, history or [], k, mode, since, until, source, api_name="/chat")
    updates = list(job)
    job.result()  # raises if the event failed
    return updates


def message_text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET exactly `path` (no client-side normalisation of `..` or percent-escapes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- /ask -----------------------------------------------------------------------------------


def test_ask_returns_cited_answer_as_json(client):
    answer = client.predict(BRIDGE_QUESTION, api_name="/ask")

    assert isinstance(answer, dict)
    assert answer["abstained"] is False
    assert "9,600" in answer["text"]
    assert "[1]" in answer["text"]
    assert answer["citations"], answer
    for citation in answer["citations"]:
        assert {"sentence", "title", "n"} <= citation.keys()
        assert f"[{citation['n']}]" in answer["text"]
    first = answer["citations"][0]
    assert first["n"] == 1
    assert first["title"] == BRIDGE_TITLE
    assert first["sentence"] == BRIDGE_SENTENCE


def test_ask_unrelated_question_abstains_without_citations(client):
    answer = client.predict("What is the best recipe for a chocolate souffle?", api_name="/ask")

    assert answer["abstained"] is True
    assert answer["citations"] == []
    assert "could not find" in answer["text"].lower()


@pytest.mark.parametrize(
    ("question", "problem"),
    [("", "question is empty"), ("   ", "question is empty"), ("x" * 3000, "the limit is 2000")],
    ids=["empty", "blank", "3000-chars"],
)
def test_ask_bad_question_is_a_clear_error(client, question, problem):
    with pytest.raises(Exception) as caught:
        client.predict(question, api_name="/ask")
    assert problem in str(caught.value)


def test_ask_bad_k_and_bad_date_are_clear_errors(client):
    with pytest.raises(Exception) as caught:
        client.predict(BRIDGE_QUESTION, 60, api_name="/ask")
    assert "k must be within 1..50" in str(caught.value)
    with pytest.raises(Exception) as caught:
        client.predict(BRIDGE_QUESTION, 5, "not-a-date", api_name="/ask")
    assert "not a date" in str(caught.value)


# -- /chat ----------------------------------------------------------------------------------


def test_chat_streams_updates_and_ends_with_highlighted_sources(client):
    updates = chat(client, BRIDGE_QUESTION)

    assert len(updates) > 1
    first_history = updates[0][0]
    assert message_text(first_history[-1]).startswith("Searching")
    history, textbox, sources, data = updates[-1]
    assert textbox == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert message_text(history[0]) == BRIDGE_QUESTION
    assert "9,600" in message_text(history[1])
    assert "[1]" in message_text(history[1])
    assert "<mark" in sources
    assert "[1]" in sources
    assert "9,600 vehicles on an average weekday" in sources
    assert data["abstained"] is False
    assert data["citations"][0]["sentence"] == BRIDGE_SENTENCE


def test_chat_abstains_with_no_sources(client):
    *_, (history, _, sources, data) = chat(client, "Who won the 1998 chess olympiad in Elista?")

    assert data["abstained"] is True
    assert "No sources" in sources
    assert "<mark" not in sources
    assert "could not find" in message_text(history[-1]).lower()


@pytest.mark.parametrize(
    ("question", "since", "problem"),
    [
        ("", "", "question is empty"),
        ("x" * 3000, "", "the limit is 2000"),
        (BRIDGE_QUESTION, "yesterday-ish", "is not a date"),
    ],
    ids=["empty", "too-long", "bad-date"],
)
def test_chat_shows_problems_in_the_conversation(client, question, since, problem):
    *_, (history, textbox, sources, data) = chat(client, question, [], since)

    reply = message_text(history[-1]).replace("\\", "")
    assert reply.startswith("⚠")
    assert problem in reply
    assert textbox == question  # kept, so it can be fixed and sent again
    assert data is None
    assert "<mark" not in sources


def test_chat_follow_up_uses_the_conversation(client, server):
    *_, (history, *_rest) = chat(client, BRIDGE_QUESTION)
    *_, (_, _, _, data) = chat(client, "When does its construction start?", history)

    direct = server.assistant.ask("When does its construction start?", [(BRIDGE_QUESTION, "")])
    assert direct.search_query.startswith(BRIDGE_QUESTION)  # what the assistant itself does
    assert data["search_query"] == direct.search_query


# -- /upload, /articles, /remove_ids ----------------------------------------------------------


ORCHARD = """# Zephyr orchard wins the Brackenford apple prize

*Published 12 September 2025*

The Zephyr orchard in Brackenford won first prize for its russet apples on Saturday. \
Judges praised the crisp texture of the fruit and the orchard's careful pruning.
"""


def test_upload_lists_and_removes_an_article(client, tmp_path):
    article = write(tmp_path / "zephyr_orchard.md", ORCHARD)

    result, table, _choices, cleared = client.predict(
        [handle_file(str(article))], api_name="/upload"
    )

    lines = result.splitlines()
    assert "1 added" in lines[0]  # the counts first (issue 17), then the files
    assert lines[1] == "✓ zephyr_orchard.md"
    assert cleared in (None, [])
    assert any("Zephyr orchard" in str(row[1]) for row in table["data"])
    listed = client.predict(api_name="/articles")
    ours = [a for a in listed if a["title"].startswith("Zephyr orchard")]
    assert len(ours) == 1
    assert ours[0]["sentences"] == 2
    assert set(ours[0]) == {"id", "title", "published", "source", "sentences", "chunks", "story"}
    assert ours[0]["story"] == ""  # no near copy stored
    answer = client.predict("Which orchard won the Brackenford apple prize?", api_name="/ask")
    assert not answer["abstained"] and "Zephyr" in answer["text"]

    assert client.predict([ours[0]["id"]], api_name="/remove_ids") == [ours[0]["id"]]
    assert all(a["id"] != ours[0]["id"] for a in client.predict(api_name="/articles"))
    assert client.predict([ours[0]["id"]], api_name="/remove_ids") == []


def test_upload_empty_file_is_a_named_failure(client, tmp_path):
    good = write(
        tmp_path / "ferry.txt",
        "Ombervale ferry returns\n\nThe Ombervale ferry "
        "resumed sailing on Monday after three weeks of engine repairs.\n",
    )
    empty = write(tmp_path / "empty.txt", "")

    result, *_ = client.predict(
        [handle_file(str(good)), handle_file(str(empty))], api_name="/upload"
    )

    lines = result.splitlines()
    assert "1 failed" in lines[0]
    assert lines[1] == "✓ ferry.txt"
    assert lines[2].startswith("✗ empty.txt")
    assert "empty" in lines[2].removeprefix("✗ empty.txt")
    titles = [a["title"] for a in client.predict(api_name="/articles")]
    assert "Ombervale ferry returns" in titles


def test_upload_jsonl_failure_names_the_bad_line(client, tmp_path):
    mixed = write(
        tmp_path / "mixed.jsonl",
        '{"title": "Harlow Fen bird count", "text": "Volunteers counted 412 '
        'avocets at Harlow Fen on Sunday."}\nthis line is not json\n',
    )

    result, *_ = client.predict([handle_file(str(mixed))], api_name="/upload")

    line = next(x for x in result.splitlines() if "mixed.jsonl" in x)
    assert line.startswith("✗ mixed.jsonl")
    assert "line 1" not in line  # line 1 of the file is the good record
    assert "mixed.jsonl:2" in line or "line 2" in line


def test_upload_refuses_unsupported_type(client, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% not an article\n")

    with pytest.raises(Exception) as caught:
        client.predict([handle_file(str(pdf))], api_name="/upload")
    assert "Invalid file type" in str(caught.value)


def test_upload_size_limit_is_enforced_by_the_server(server):
    payload = b"A sentence about nothing in particular. " * 30_000  # ~1.2 MB > 1 MB limit
    response = httpx.post(
        f"{server.url}/gradio_api/upload",
        files=[("files", ("big.txt", payload, "text/plain"))],
        timeout=30,
    )

    assert response.status_code == 413, response.text[:200]


def test_sources_escape_titles_and_drop_non_http_links(client, tmp_path):
    record = {
        "title": "<b>Bold</b> Yarrowmere council",
        "url": "javascript:alert(3)",
        "text": "The Yarrowmere council approved a new skate park on Tuesday evening. "
        "The Yarrowmere skate park will open in August.",
    }
    article = write(tmp_path / "yarrowmere.json", json.dumps(record))
    result, *_ = client.predict([handle_file(str(article))], api_name="/upload")
    assert result.splitlines()[1] == "✓ yarrowmere.json"

    *_, (_, _, sources, data) = chat(client, "When will the Yarrowmere skate park open?")

    assert not data["abstained"]
    assert "&lt;b&gt;Bold&lt;/b&gt; Yarrowmere council" in sources
    assert "<b>" not in sources
    assert "javascript:" not in sources
    assert "href" not in sources


def test_chat_escapes_article_markup_in_answer_and_sources(client):
    for question, payload in ((XSS_QUESTION, XSS_IMG), (XSS_NOTE_QUESTION, XSS_SCRIPT)):
        *_, (history, _, sources, data) = chat(client, question)

        assert not data["abstained"]
        assert any(c["title"] == XSS_TITLE for c in data["citations"])
        assert "<img" not in sources and "<script" not in sources and "<style" not in sources
        reply = message_text(history[-1])
        assert "<img" not in reply.replace("\\<img", "")  # only markdown-escaped, never raw
        assert "<script" not in reply.replace("\\<script", "")
        assert payload in reply.replace("\\", "")
        escaped = payload.replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in sources


# -- file routes and binding ----------------------------------------------------------------

TRAVERSALS = [
    "../../etc/passwd",
    "../../../../../../../../etc/passwd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
]


@pytest.mark.parametrize("prefix", ["/gradio_api/file=", "/file="])
def test_file_route_refuses_traversal_and_the_store(server, prefix):
    targets = [
        *TRAVERSALS,
        str(server.home / "manifest.sqlite3"),
        str(server.base / "quillmoor_lighthouse.txt"),
    ]
    for target in targets:
        status, body = raw_get(server.port, prefix + target)
        assert status in (403, 404), (prefix + target, status, body[:200])
        assert b"root:" not in body and b"SQLite format" not in body
        # and the same through a normalising client
        response = httpx.get(server.url + prefix + target, timeout=10)
        assert response.status_code in (403, 404), (prefix + target, response.status_code)
        assert b"root:" not in response.content and b"SQLite format" not in response.content


def test_gradio6_file_route_exists_and_refuses(server):
    """The real Gradio 6 route is /gradio_api/file=; it answers 403, not a routing 404."""
    status, body = raw_get(server.port, f"/gradio_api/file={server.home}/manifest.sqlite3")
    assert status == 403
    assert b"not allowed" in body


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


def test_server_is_bound_to_loopback_only(server):
    assert server.app.server_name == "127.0.0.1"
    assert server.app.share_url is None
    assert server.app.local_url.startswith("http://127.0.0.1:")
    addresses = _listening_addresses(server.port)
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to inspect")
    assert addresses == {"0100007F"}  # 127.0.0.1, little-endian hex; not 0.0.0.0 or ::
