"""The Gradio app in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlparse

import pytest

from tests.ui_server import (
    BRIDGE_QUESTION,
    BRIDGE_TITLE,
    ROOT,
    XSS_IMG,
    XSS_NOTE_QUESTION,
    XSS_QUESTION,
    XSS_SCRIPT,
    XSS_TITLE,
    Server,
    ask_in_browser,
    open_app,
    running_app,
)

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    with running_app(tmp_path_factory.mktemp("ui-browser")) as running:
        yield running


class Recorded:
    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.requests: list[str] = []


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    seen = Recorded()

    def on_dialog(dialog) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.seen = seen
    open_app(page, server.url)
    yield page
    context.close()


def last_answer(page) -> str:
    return page.locator("#citeqa-chat [data-testid='bot']").last.inner_text()


def test_cited_answer_with_highlighted_source(page):
    from playwright.sync_api import expect

    ask_in_browser(page, BRIDGE_QUESTION)

    answer = last_answer(page)
    assert "[1]" in answer
    assert "9,600 vehicles on an average weekday" in answer
    mark = page.locator("#citeqa-sources mark").first
    expect(mark).to_be_visible()
    assert "carries about 9,600 vehicles on an average weekday" in mark.inner_text()
    sources = page.inner_text("#citeqa-sources")
    assert "[1]" in sources
    assert BRIDGE_TITLE in sources
    assert "2025-03-14" in sources

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "cited-answer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("CITEQA_UPDATE_DOCS"):  # refresh the README's picture on request only
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS / "cited-answer.png")


def test_article_html_and_markdown_stay_inert_text(page):
    shown = ""
    for question in (XSS_QUESTION, XSS_NOTE_QUESTION):  # one payload sentence per answer
        ask_in_browser(page, question)
        answer = last_answer(page)
        sources = page.inner_text("#citeqa-sources")
        assert "[1]" in answer
        assert XSS_TITLE in sources
        shown += answer + "\n" + sources + "\n"
    assert XSS_IMG in shown  # the payload is visible as characters ...
    assert XSS_SCRIPT in shown
    # ... and nothing of it became markup
    for area in ("#citeqa-chat", "#citeqa-sources"):
        assert page.locator(f"{area} img").count() == 0
        assert page.locator(f"{area} script").count() == 0
        styles = page.eval_on_selector_all(f"{area} style", "els => els.map(e => e.textContent)")
        assert not [css for css in styles if "body" in css]  # Gradio's own icons carry one
        # the one kind of link allowed: citeqa's own in-page citation links (issue 16, item 4)
        assert page.locator(f"{area} a:not([href^='#citeqa-cite-'])").count() == 0
    assert page.locator("a[href*='evil.example'], img[src*='evil.example']").count() == 0
    assert page.evaluate("getComputedStyle(document.body).display") != "none"
    assert page.locator("#citeqa-chat").is_visible()
    assert page.seen.dialogs == []
    page.wait_for_timeout(300)  # let any late image or script request surface
    assert page.seen.dialogs == []
    assert_only_local_requests(page.seen.requests)


def test_question_payload_is_shown_as_text(page):
    question = "Is the Quillmoor lighthouse <img src=q onerror=alert(7)> open to visitors?"

    ask_in_browser(page, question)

    user = page.locator("#citeqa-chat [data-testid='user']").last.inner_text()
    assert "<img src=q onerror=alert(7)>" in user
    assert page.locator("#citeqa-chat img").count() == 0
    assert page.seen.dialogs == []
    assert_only_local_requests(page.seen.requests)


def assert_only_local_requests(urls: list[str]) -> None:
    assert urls, "no requests were recorded at all"
    foreign = [
        u
        for u in urls
        if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname not in LOCAL_HOSTS
    ]
    assert foreign == []


def test_articles_tab_lists_the_articles(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Articles").click()

    table = page.locator("#citeqa-articles")
    expect(table).to_be_visible()
    expect(table).to_contain_text(BRIDGE_TITLE)
    expect(table).to_contain_text(XSS_TITLE)
    text = table.inner_text()
    for title in (
        "Kestrel Vale Rovers win Northfold Cup on penalties",
        "Storm Corvin brings record rainfall and flooding to Westmarch",
    ):
        assert title in text
    expect(page.locator("#citeqa-upload")).to_be_visible()
    expect(page.locator("#citeqa-add")).to_be_visible()
    assert_only_local_requests(page.seen.requests)


def test_articles_tab_lists_a_page_and_finds_the_rest(browser, tmp_path, monkeypatch):
    """A big collection is listed a page at a time (the newest first) and searched by title,
    source or id; the remove picker offers what the table shows."""
    from playwright.sync_api import expect

    import ui.app
    from ui.render import FSI, PDI

    monkeypatch.setattr(ui.app, "ARTICLES_SHOWN", 3)
    with running_app(tmp_path) as server:
        total = server.assistant.article_count()
        assert total > 3
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            open_app(page, server.url)
            page.get_by_role("tab", name="Articles").click()
            tab, line = page.locator("#citeqa-articles"), page.locator("#citeqa-listing")
            expect(line).to_contain_text(f"the newest 3 of {total}")
            ids = [a.id for a in server.assistant.articles()]
            shown = tab.inner_text()
            assert [i in shown for i in ids] == [True] * 3 + [False] * (total - 3)
            find = page.locator("#citeqa-find textarea")
            find.fill("kestrel vale")
            find.press("Enter")
            expect(line).to_contain_text(f"1 stored article matching “{FSI}kestrel vale{PDI}”")
            expect(tab).to_contain_text("Kestrel Vale Rovers win Northfold Cup on penalties")
            [kestrel] = server.assistant.articles(matching="kestrel vale")
            shown = tab.inner_text()
            assert [i for i in ids if i in shown] == [kestrel.id]
            page.locator("#citeqa-chosen input").click()
            options = page.get_by_role("option")
            expect(options).to_have_count(1)
            expect(options.first).to_contain_text("Kestrel Vale")
        finally:
            context.close()
