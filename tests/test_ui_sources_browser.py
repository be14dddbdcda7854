"""Sources one click away (issue 16, item 4) in Debian's headless Chromium: each [n] in the chat
is an in-page link that brings its source into view and highlights it; a source's "Whole
article" button opens the stored article, whole, with the cited sentences marked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from tests.ui_server import (
    BRIDGE_QUESTION,
    BRIDGE_SENTENCE,
    Server,
    ask_in_browser,
    open_app,
    running_app,
)
from ui.render import linked_chat_text

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
ARTICLE_URL = "https://news.example/orrin-ferry"
ORRIN = {
    "title": "Orrin ferry [2] notice",
    "url": ARTICLE_URL,
    "published": "2025-07-01",
    "source": "Orrin Courier",
    "text": "The Orrin ferry timetable [2] lists a new dawn crossing at six. "
    "Orrin ferry tickets cost four crowns for adults. "
    "Children travel free on the Orrin ferry at weekends.\n\n"
    "The Orrin harbour master said the dawn crossing [1] https://evil.example/x begins in May.",
}
ORRIN_QUESTION = "When does the Orrin ferry dawn crossing begin and when is it?"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("ui-sources-browser")
    orrin = base / "orrin.json"
    orrin.write_text(json.dumps(ORRIN), encoding="utf-8")
    with running_app(base, [orrin]) as running:
        yield running


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    open_app(page, server.url)
    yield page
    context.close()


def in_view(locator) -> bool:
    return locator.evaluate(
        "el => { const r = el.getBoundingClientRect(); return r.bottom > 0 && "
        "r.top < window.innerHeight && r.height > 0; }"
    )


def test_each_citation_is_a_link_that_brings_its_source_into_view(page, server):
    from playwright.sync_api import expect

    ask_in_browser(page, BRIDGE_QUESTION)
    ask_in_browser(page, ORRIN_QUESTION)  # a longer panel: sources below the fold

    bot = page.locator("#citeqa-chat [data-testid='bot']").last
    links = bot.locator("a")
    assert links.count() >= 1
    answer = server.assistant.ask(ORRIN_QUESTION)
    hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert all(h.startswith("#citeqa-cite-") for h in hrefs), hrefs
    assert [t.strip() for t in links.all_inner_texts()] == [f"[{c.n}]" for c in answer.citations][
        : links.count()
    ]
    # one link per marker citeqa added; a "[2]" or "[1]" quoted from the article stays text
    ours = linked_chat_text(answer.text, answer.citations).count("](#citeqa-cite-")
    assert len(hrefs) == ours == len(answer.citations)
    for link, href in zip(links.all(), hrefs, strict=True):
        source = page.locator(f"#citeqa-sources li[id='{href[1:]}']")
        expect(source).to_have_count(1)
        page.evaluate("window.scrollTo(0, 0)")
        link.click()
        expect(source).to_have_class("citeqa-source citeqa-focus")
        assert in_view(source)
        assert page.locator("#citeqa-sources .citeqa-focus").count() == 1
    assert urlparse(page.url).hostname == "127.0.0.1"
    assert len(page.context.pages) == 1  # nothing opened in another tab
    foreign = page.locator("#citeqa-chat a:not([href^='#citeqa-cite-'])")
    assert foreign.count() == 0


def test_article_view_shows_the_whole_article_with_cited_sentences_marked(page, server):
    from playwright.sync_api import expect

    ask_in_browser(page, ORRIN_QUESTION)
    answer = server.assistant.ask(ORRIN_QUESTION)
    [orrin_id] = [a.id for a in server.assistant.articles() if a.title.startswith("Orrin")]
    cited = [c for c in answer.citations if c.article_id == orrin_id]
    assert cited

    view = page.locator("#citeqa-sources section.citeqa-article").filter(has_text="Orrin ferry")
    expect(view).to_be_hidden()
    button = page.locator(f"#citeqa-sources li[id^='citeqa-cite-{orrin_id}'] button.citeqa-open")
    button.first.click()
    expect(view).to_be_visible()
    assert in_view(view)
    shown = view.inner_text()
    stored = server.assistant.store.text(orrin_id)
    for paragraph in stored.split("\n\n"):
        assert " ".join(paragraph.split()) in " ".join(shown.split())  # the whole text
    for field in ("Orrin ferry [2] notice", "2025-07-01", "Orrin Courier", ARTICLE_URL):
        assert field in shown
    marks = view.locator("mark").all_inner_texts()
    assert marks == [stored[c.start : c.end] for c in sorted(cited, key=lambda c: c.start)]
    # the article's URL is the one link; the address in its text stays text
    assert view.locator("a").evaluate_all("els => els.map(e => e.href)") == [ARTICLE_URL]
    assert "https://evil.example/x" in shown
    assert page.locator("a[href*='evil.example']").count() == 0
    button.first.click()
    expect(view).to_be_hidden()


def test_bridge_view_marks_the_cited_sentence(page, server):
    from playwright.sync_api import expect

    ask_in_browser(page, BRIDGE_QUESTION)
    page.locator("#citeqa-sources li button.citeqa-open").first.click()
    view = page.locator("#citeqa-sources section.citeqa-article:visible")
    expect(view).to_have_count(1)
    assert BRIDGE_SENTENCE in view.locator("mark").all_inner_texts()


def test_a_time_filter_from_the_question_can_be_removed_in_one_click(page, server):
    from playwright.sync_api import expect

    question = "What did the council approve for the Old Tanner Bridge in March 2025?"
    timed = server.assistant.ask(question)
    assert timed.filters.get("since") == "2025-03-01"  # the bridge article is from March 2025
    all_dates = page.locator("#citeqa-all-dates")
    expect(all_dates).to_be_hidden()
    ask_in_browser(page, question)
    chip = page.locator("#citeqa-sources .citeqa-chip")
    expect(chip).to_contain_text("Only articles published 2025-03-01 – 2025-03-31")
    expect(all_dates).to_be_visible()
    all_dates.click()
    expect(chip).to_have_count(0)  # asked again with no filter: no chip
    expect(all_dates).to_be_hidden()
    users = page.locator("#citeqa-chat [data-testid='user']")
    expect(users).to_have_count(1)  # the same turn, answered again, not a second question
    expect(users.last).to_contain_text("Old Tanner Bridge in March")
    expect(page.locator("#citeqa-chat [data-testid='bot']")).to_have_count(1)
    untimed = server.assistant.ask(question, time_in_question=False)
    assert untimed.filters == {}
    shown = "No sources" if untimed.abstained else untimed.citations[0].sentence[:40]
    expect(page.locator("#citeqa-sources")).to_contain_text(shown)
