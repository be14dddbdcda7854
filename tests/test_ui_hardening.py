"""Issue 17, hardening the chat: what a hostile article or a hurried user can still do.

Unit tests of the rendering, loading, upload and input-checking helpers, and integration
tests of the same through the running app's API (gradio_client). What Chromium shows is in
tests/test_ui_hardening_browser.py.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import lxml.html
import pytest

from tests.ui_server import BRIDGE_QUESTION, Server, running_app

RLO, LRI, PDI = "\u202e", "\u2066", "\u2069"
ZWSP, ZWNJ, WJ, BOM = "\u200b", "\u200c", "\u2060", "\ufeff"
INVISIBLES = (
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u200c\u200d\u2060\ufeff"
)
ADDRESSES = [
    "https://evil.example/x",
    "http://evil.example",
    "www.evil.example/login",
    "http://2130706433/p",
    "ftp://evil.example/f",
    "bob@evil.example",
    "<http://evil.example>",
    "http://127.0.0.1:8/x",
]


def citation(title: str, sentence: str = "The harbour water was clean.", url: str = "", n: int = 1):
    from datetime import datetime

    from qa.types import Citation

    return Citation(
        n=n,
        article_id="a" * 16,
        title=title,
        published=datetime(2024, 3, 5),
        url=url,
        sentence_index=0,
        sentence=sentence,
        start=0,
        end=len(sentence),
        score=1.0,
    )


def answer_of(*citations):
    from qa.types import Answer

    text = " ".join(f"{c.sentence} [{c.n}]" for c in citations)
    return Answer("q?", text, tuple(citations), False, {}, (), "extractive", "q?")


def row(title: str, source: str = "Gazette", id_: str = "0123456789abcdef"):
    return SimpleNamespace(
        id=id_, title=title, published=None, source=source, sentences=2, chunks=1, story=""
    )


# -- 1, 4: nothing becomes a link, math or markup -------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("address", ADDRESSES)
def test_chat_text_leaves_no_autolink_trigger(address):
    from ui.render import chat_text, question_text, unescape_markdown

    for shown in (
        chat_text(f"Read it at {address} now [1]."),
        question_text(f"Is {address} the page?"),
    ):
        # GFM autolinks need these unescaped; escaped, a renderer shows them as characters
        assert not re.search(r"(?<!\\)(://|www\.|@|<|\.)", shown), shown
        assert address in unescape_markdown(shown)


@pytest.mark.unit
def test_chat_text_leaves_no_math_and_keeps_citation_marks():
    from ui.render import chat_text, question_text, unescape_markdown

    shown = chat_text("The fee is $$x^2$$ a year [1]. It is paid in May [2].")
    assert "$$" not in shown and "[1]" in shown and "[2]" in shown
    assert unescape_markdown(shown) == "The fee is $$x^2$$ a year [1]. It is paid in May [2]."
    assert "$$" not in question_text("What is $$\\frac{1}{2}$$?")


# -- 2: bidi and invisible characters ---------------------------------------------------------


@pytest.mark.unit
def test_sources_panel_isolates_title_and_date_without_controls():
    from ui.render import sources_html

    panel = sources_html(
        answer_of(citation(f"Harbour water exe{ZWSP}.png {RLO}", f"The water{RLO} was clean.")),
        None,
    )
    assert not any(c in panel for c in (RLO, ZWSP)), panel
    root = lxml.html.fragment_fromstring(panel, create_parent="div")
    title = root.find_class("citeqa-title")[0]
    date = root.find_class("citeqa-date")[0]
    assert title.text_content() == "Harbour water exe.png"
    assert "unicode-bidi:plaintext" in title.get("style")
    assert date.text_content() == "(2024-03-05)" and "isolate" in date.get("style")


@pytest.mark.unit
def test_sources_panel_links_only_the_articles_own_http_url():
    from ui.render import sources_html

    sentence = f"Read the notice at https://evil.example/x or www.evil.example{RLO} today."
    panel = sources_html(
        answer_of(
            citation("Notice https://evil.example/t", sentence, url="https://news.example/ok")
        ),
        None,
    )
    root = lxml.html.fragment_fromstring(panel, create_parent="div")
    assert [a.get("href") for a in root.iter("a")] == ["https://news.example/ok"]
    assert sentence.replace(RLO, "") in root.text_content()  # no override, even if stored
    for url in ("javascript:alert(1)", "ftp://news.example/x", "www.news.example"):
        panel = sources_html(answer_of(citation("T", sentence, url=url)), None)
        assert "<a" not in panel


@pytest.mark.unit
def test_pickers_show_the_id_first_and_the_title_isolated():
    from ui.render import FSI, articles_view, id_choices

    spoof = f"Harmless {RLO}(fedcba9876543210)"
    [(label, value)] = id_choices([row(spoof)])
    assert value == "0123456789abcdef"
    assert label.startswith("0123456789abcdef · " + FSI) and label.endswith(PDI)
    assert RLO not in label
    [cells] = articles_view([row(f"Water{ZWSP}{ZWNJ} report{RLO}", f"Ga{WJ}zette{BOM}")])
    assert cells[1] == "Water report" and cells[3] == "Gazette"


@pytest.mark.unit
def test_articles_listing_label_says_how_many_of_how_many_and_isolates_the_search():
    from ui.render import FSI, listing_label

    assert listing_label(6, 6) == "Stored articles (6)"
    assert listing_label(200, 100_000) == (
        "Stored articles: the newest 200 of 100,000 (find others above)"
    )
    label = listing_label(1, 100_000, f"harbour{RLO} x" + "y" * 300, 200)
    assert label.startswith(f"1 stored article matching “{FSI}harbour x")
    assert RLO not in label and label.endswith(f"{PDI}”") and len(label) < 120
    assert listing_label(200, 100_000, "the", 200).endswith(", the newest 200 shown")


@pytest.mark.unit
def test_loader_removes_invisible_controls_from_titles_sources_authors():
    from vectorstore.loaders import parse_text

    record = {
        "title": f"Kelvy water exe{ZWSP}.png{RLO} {LRI}x{PDI}{BOM}",
        "source": f"{RLO}Kelvy{ZWNJ} Post\u200e",
        "author": ["Ann\u200d Lee\u061c", WJ],
        "text": "The Kelvy water report found clean water. It was published in March.",
    }
    [article] = parse_text(json.dumps(record), ".json", "kelvy.json")
    for value in (article.title, article.source, article.author):
        assert not set(value) & set(INVISIBLES), repr(value)
    assert article.title == "Kelvy water exe.png x"
    assert article.source == "Kelvy Post" and article.author == "Ann Lee"


@pytest.mark.unit
@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_loader_text_loses_bidi_formatting_and_citations_stay_verbatim(suffix):
    from vectorstore.loaders import parse_text
    from vectorstore.sentences import split_sentences

    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # joiner is spelling
    body = (
        f"The Kelvy report{RLO} found clean water{ZWSP} at nine beaches. Officials said "
        f"{LRI}\u05e9\u05dc\u05d5\u05dd{PDI} and {persian} to the crowd.{WJ} The end."
    )
    raw = (
        f"Kelvy report\n\n{body}\n"
        if suffix == ".txt"
        else json.dumps({"title": "Kelvy report", "text": body})
    )
    [article] = parse_text(raw, suffix, f"kelvy{suffix}")
    assert not set(article.text) & set(
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff"
    )
    assert persian in article.text  # ZWNJ kept: removing it misspells Persian
    assert "found clean water at nine beaches" in article.text
    sentences = split_sentences(article.text, article.id)
    assert sentences
    for s in sentences:
        assert article.text[s.start : s.end] == s.text


# -- 3: long fields are cut for display, whole in a tooltip -----------------------------------


@pytest.mark.unit
def test_long_fields_are_cut_for_display_with_the_whole_in_a_tooltip():
    from ui.render import CELL_CHARS, TITLE_CHARS, articles_view, id_choices, sources_html

    title, source = "Brindle ferry " + "Z" * 10_000, "S" * 10_000
    url = "https://news.example/" + "a" * 10_000
    panel = sources_html(answer_of(citation(title, url=url)), None)
    root = lxml.html.fragment_fromstring(panel, create_parent="div")
    span = root.find_class("citeqa-title")[0]
    assert len(span.text_content()) == TITLE_CHARS and span.text_content().endswith("…")
    assert span.get("title") == title
    assert [a.get("href") for a in root.iter("a")] == [url]
    [cells] = articles_view([row(title, source)])
    assert len(cells[1]) <= CELL_CHARS and len(cells[3]) <= CELL_CHARS
    [(label, _)] = id_choices([row(title)])
    assert len(label) < CELL_CHARS + 25


@pytest.mark.unit
def test_long_paragraph_around_a_cited_sentence_is_cut_not_the_sentence():
    from ui.render import CONTEXT_CHARS, sources_html

    sentence = "The Brindle ferry sails at nine."
    paragraph = "Before. " * 2_000 + sentence + " After." * 2_000
    start = paragraph.index(sentence)
    panel = sources_html(
        answer_of(citation("T", sentence)), lambda c: (paragraph, start, start + len(sentence))
    )
    root = lxml.html.fragment_fromstring(panel, create_parent="div")
    assert root.find(".//mark").text_content() == sentence
    assert len(root.find_class("citeqa-paragraph")[0].text_content()) < 2 * CONTEXT_CHARS + 100


# -- 5: upload results summarise --------------------------------------------------------------


@pytest.mark.unit
def test_upload_result_counts_first_then_a_few_dozen_failures():
    from ui.uploads import MAX_FAILURES_SHOWN, upload_result
    from vectorstore.types import IngestReport, LoadError

    failed = tuple(
        LoadError(f"/tmp/gradio/h/bad.jsonl:{n}", "invalid JSON at column 1")
        for n in range(1, 200_001)
    )
    report = IngestReport(added=("a",), failed=failed, sentences=3, seconds=1.0)
    result = upload_result(["/tmp/gradio/h/bad.jsonl", "/tmp/gradio/g/good.txt"], report)
    lines = result.splitlines()
    assert lines[0] == report.summary()  # the counts first ...
    assert "200000 failed" in lines[0] and "1 added" in lines[0]
    assert lines[1] == "✓ good.txt"
    named = [x for x in lines if x.startswith("✗ bad.jsonl:")]
    assert len(named) == MAX_FAILURES_SHOWN <= 40
    assert "… and 199,970 more like these" in lines
    assert lines[-1] == report.summary()
    assert len(result) < 5_000


@pytest.mark.unit
def test_upload_result_cuts_long_reasons_and_names():
    from ui.uploads import upload_result
    from vectorstore.types import IngestReport, LoadError

    report = IngestReport(failed=(LoadError("/t/" + "n" * 5_000 + ".txt", "r" * 50_000),))
    assert len(upload_result(["/t/" + "n" * 5_000 + ".txt"], report)) < 1_000


# -- 6: inputs are checked ---------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("abc",), "k must be a whole number, not 'abc'"),
        ((None,), "k must be a whole number, not null"),
        ((60,), "k must be within 1..50"),
        ((5, "poetry"), "mode must be one of extractive, llm"),
        ((5, None, 20240101), "since must be text"),
        ((5, None, "", ["x"]), "until must be text"),
        ((5, None, "", "", {"a": 1}), "source must be text"),
    ],
)
def test_ask_options_name_the_bad_value(args, message):
    from ui.api import ask_options

    with pytest.raises(ValueError) as caught:
        ask_options(*args)
    assert message in str(caught.value)
    assert ask_options(5.0)["k"] == 5 and ask_options("7", "extractive")["k"] == 7


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "ids must be a list of article ids (text), not null"),
        (5, "ids must be a list of article ids (text), not int"),
        ([1], "ids[0] must be an article id (text), not int"),
        (["ok", None], "ids[1] must be an article id (text), not null"),
        (["a b\n"], "ids[0] is not an article id"),
    ],
)
def test_article_ids_name_the_bad_value(value, message):
    from ui.api import article_ids

    with pytest.raises(ValueError) as caught:
        article_ids(value)
    assert message in str(caught.value)
    assert article_ids("abc") == ["abc"] and article_ids([]) == []


# -- 7: uploads leave nothing behind -----------------------------------------------------------


@pytest.mark.unit
def test_discard_uploads_removes_only_files_in_gradios_folder(tmp_path, monkeypatch):
    from ui.uploads import discard_uploads

    root = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(root))
    upload = root / "0f3c" / "article.txt"
    upload.parent.mkdir(parents=True)
    upload.write_text("x")
    outside = tmp_path / "mine.txt"
    outside.write_text("x")
    discard_uploads([upload, outside, root / ".." / "mine.txt"])
    assert not upload.exists() and not upload.parent.exists() and root.exists()
    assert outside.exists()


# -- through the running app -------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    with running_app(tmp_path_factory.mktemp("ui-hardening")) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "api", "message"),
    [
        ((BRIDGE_QUESTION, "abc"), "/ask", "k must be a whole number, not 'abc'"),
        ((BRIDGE_QUESTION, None), "/ask", "k must be a whole number, not null"),
        ((None,), "/ask", "question must be text"),
        ((BRIDGE_QUESTION, 5, 20240101), "/ask", "since must be text"),
        ((BRIDGE_QUESTION, 5, "", "", ["Gazette"]), "/ask", "source must be text"),
        ((None,), "/remove_ids", "ids must be a list of article ids"),
        (({"id": "x"},), "/remove_ids", "ids must be a list of article ids"),
        (([1, 2],), "/remove_ids", "ids[0] must be an article id"),
        ((["x", 3],), "/remove", "ids[1] must be an article id"),
    ],
    ids=[
        "ask-k-abc",
        "ask-k-null",
        "ask-null",
        "ask-since-int",
        "ask-source-list",
        "remove-null",
        "remove-dict",
        "remove-ints",
        "remove-ui-int",
    ],
)
def test_bad_api_input_is_a_clear_message_without_traceback(client, capfd, args, api, message):
    capfd.readouterr()
    with pytest.raises(Exception) as caught:
        client.predict(*args, api_name=api)
    assert message in str(caught.value)
    assert "invalid literal" not in str(caught.value)
    time.sleep(0.2)
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.integration
@pytest.mark.parametrize(
    ("history", "k", "mode", "message"),
    [
        ([], "abc", "extractive", "k must be a whole number, not 'abc'"),
        ([], 5, "poetry", "mode must be one of extractive, llm"),
        ("abc", 5, "extractive", "history must be a list of messages"),
        ([{"x": 1}], 5, "extractive", "history[0] must be a message"),
    ],
    ids=["k", "mode", "history-text", "history-shape"],
)
def test_bad_chat_input_is_a_clear_message_without_traceback(
    client, capfd, history, k, mode, message
):
    capfd.readouterr()
    job = client.submit(BRIDGE_QUESTION, history, k, mode, "", "", "", api_name="/chat")
    *_, (messages, textbox, _panel, data) = list(job)
    reply = messages[-1]["content"]
    reply = reply if isinstance(reply, str) else reply[0]["text"]
    assert reply.replace("\\", "").startswith("⚠") and message in reply.replace("\\", "")
    assert textbox == BRIDGE_QUESTION and data is None
    time.sleep(0.2)
    assert "Traceback" not in capfd.readouterr().err


def uploads_named(name: str) -> list[Path]:
    from gradio.utils import get_upload_folder

    return list(Path(get_upload_folder()).rglob(name))


@pytest.mark.integration
def test_huge_bad_upload_is_summarised_and_removed(client, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "hardening_bad_lines.jsonl"
    bad.write_text("bad\n" * 200_000, encoding="utf-8")  # 800 KB, under the 1 MB limit

    result, *_ = client.predict([handle_file(str(bad))], api_name="/upload")

    lines = result.splitlines()
    assert "200000 failed" in lines[0]
    assert sum(x.startswith("✗ hardening_bad_lines.jsonl:") for x in lines) <= 40
    assert "… and 199,970 more like these" in result
    assert len(result) < 10_000
    assert uploads_named("hardening_bad_lines.jsonl") == []


@pytest.mark.integration
def test_ingested_upload_leaves_no_copy_in_gradios_folder(client, server, tmp_path):
    from gradio_client import handle_file

    article = tmp_path / "hardening_orchard.txt"
    article.write_text(
        "Quenby orchard opens\n\nThe Quenby orchard opened its gates to "
        "visitors on Sunday for the first apple harvest.\n",
        encoding="utf-8",
    )
    result, *_ = client.predict([handle_file(str(article))], api_name="/upload")
    assert result.splitlines()[1] == "✓ hardening_orchard.txt"
    assert uploads_named("hardening_orchard.txt") == []
    assert any("Quenby orchard" in a.title for a in server.assistant.articles())


@pytest.mark.integration
def test_uploads_not_added_are_removed_when_the_server_stops(tmp_path):
    with running_app(tmp_path) as running:
        response = httpx.post(
            f"{running.url}/gradio_api/upload",
            timeout=30,
            files=[("files", ("hardening_left_over.txt", b"Left over text.", "text/plain"))],
        )
        assert response.status_code == 200
        [path] = response.json()
        assert Path(path).exists()
    assert not Path(path).exists()
    assert uploads_named("hardening_left_over.txt") == []
