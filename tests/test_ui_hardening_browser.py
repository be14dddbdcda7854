"""Issue 17 in Debian's headless Chromium: what the chat, sources panel, articles table and
lists show for hostile articles and questions, and what a hurried user's keys do.

The articles: one full of web addresses, math and a template (`Fenwick harbour`), one whose
title ends in U+202E and hides zero-width characters (`Kelvy water`), one with 10,000-character
title, source and URL (`Brindle ferry`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.ui_server import (
    BRIDGE_QUESTION,
    BRIDGE_TITLE,
    Server,
    ask_in_browser,
    open_app,
    running_app,
)

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
LINKS_URL = "https://news.example/fenwick"
LINKS = {
    "title": "Fenwick harbour notice https://evil.example/t www.evil.example $$y$$",
    "url": LINKS_URL,
    "published": "2025-04-02",
    "source": "Fenwick www.evil.example",
    "text": "The Fenwick harbour office posted its new tide table at "
    "https://evil.example/tides on Monday. Fenwick harbour fishermen can also read the "
    "tide table at www.evil.example/tides or at http://2130706433/tides. Questions "
    "about the Fenwick harbour tide table go to harbour@evil.example by email. The "
    "Fenwick harbour tide table ends with the fee formula $$x^2+1$$ and ${7*7}.",
}
FOREIGN_LINKS = "a[href*='evil'], a[href*='2130706433'], a[href^='mailto']"
LINKS_QUESTION = "Where can Fenwick harbour fishermen read the tide table and its fee formula?"
ADDRESS_TEXTS = [
    "https://evil.example/tides",
    "www.evil.example/tides",
    "http://2130706433/tides",
    "harbour@evil.example",
    "$$x^2+1$$",
    "${7*7}",
]
KELVY = {
    "title": "Kelvy harbour water exe\u200b.png report \u202e",
    "published": "2024-03-05",
    "source": "Kelvy\u200c Post",
    "text": "The Kelvy harbour water report found clean water at all nine Kelvy beaches. "
    "Kelvy harbour samples were taken every week from May to September.",
}
KELVY_QUESTION = "What did the Kelvy harbour water report find at the beaches?"
LONG_TITLE = "Brindle ferry timetable " + "Z" * 10_000
LONG = {
    "title": LONG_TITLE,
    "source": "S" * 10_000,
    "url": "https://news.example/" + "a" * 10_000,
    "published": "2025-06-01",
    "text": "The Brindle ferry timetable adds a late sailing at eleven on Fridays. "
    "The Brindle ferry company said the late sailing starts in July.",
}
LONG_QUESTION = "When does the Brindle ferry late sailing start?"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("ui-hardening-browser")
    extra = []
    for name, record in (("fenwick.json", LINKS), ("kelvy.json", KELVY), ("brindle.json", LONG)):
        (base / name).write_text(json.dumps(record), encoding="utf-8")
        extra.append(base / name)
    with running_app(base, extra) as running:
        yield running


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    open_app(page, server.url)
    yield page
    context.close()


def article_id(server: Server, prefix: str) -> str:
    [found] = [a.id for a in server.assistant.articles() if a.title.startswith(prefix)]
    return found


# reading order on screen: every visible character of the element, sorted left to right
VISUAL = """el => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const seen = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (box.width > 0) seen.push([box.top, box.left, node.data[i]]);
    }
  }
  seen.sort((a, b) => Math.abs(a[0] - b[0]) > 4 ? a[0] - b[0] : a[1] - b[1]);
  return seen.map(s => s[2]).join('');
}"""


def shown_in_order(locator) -> str:
    return locator.evaluate(VISUAL)


# -- 1, 4: addresses, math and templates stay text -------------------------------------------


def test_addresses_and_math_in_articles_and_questions_stay_text(page, server):
    question = LINKS_QUESTION + " See www.evil.example/q, https://evil.example/q and $$z^2$$."
    ask_in_browser(page, question)
    ask_in_browser(page, "What formula ends the Fenwick harbour tide table?")

    chat = page.locator("#citeqa-chat")
    shown = chat.inner_text()
    for text in ["www.evil.example/q", "https://evil.example/q", "$$z^2$$"]:
        assert text in shown, text  # verbatim, as characters ...
    assert "\\" not in shown  # ... and not corrupted by escapes
    cited = [text for text in ADDRESS_TEXTS if text in shown]
    assert len(cited) >= 2, cited  # the answers quote some of the article's addresses
    sources = page.inner_text("#citeqa-sources")
    for text in ADDRESS_TEXTS:
        assert text in shown + sources, text
    for area in ("#citeqa-chat", "#citeqa-sources"):
        assert page.locator(f"{area} .katex, {area} math, {area} img").count() == 0
    # only citeqa's own in-page citation links (issue 16, item 4), none from the text
    assert chat.locator("a:not([href^='#citeqa-cite-'])").count() == 0
    links = page.eval_on_selector_all("#citeqa-sources a", "els => els.map(e => e.href)")
    assert links and set(links) == {LINKS_URL}  # the article's own url, and nothing else

    from playwright.sync_api import expect

    from ui.examples import example_questions  # checked questions now (issue 16, item 5)

    examples = example_questions(server.assistant)
    assert examples
    for question in examples:  # shown as text; the examples block may render after the box
        expect(page.locator("body")).to_contain_text(question, timeout=15_000)
    page.locator("button.label-wrap", has_text="Settings").click()
    page.get_by_role("combobox", name="Source").click()
    assert page.get_by_role("option", name="Fenwick www.evil.example").count() == 1
    assert page.locator(FOREIGN_LINKS).count() == 0  # examples, source list: no link
    page.keyboard.press("Escape")

    page.get_by_role("tab", name="Articles").click()
    table = page.locator("#citeqa-articles")
    table.wait_for()
    assert "https://evil.example/t" in table.inner_text()
    page.locator("#citeqa-chosen input").click()
    options = page.get_by_role("option")
    assert "www.evil.example" in " ".join(options.all_inner_texts())
    for area in ("#citeqa-articles", "[role=listbox]", "#citeqa-chosen"):
        assert page.locator(f"{area} a, {area} .katex, {area} img").count() == 0, area
    assert page.locator(FOREIGN_LINKS).count() == 0


# -- 2: bidi and invisible characters ---------------------------------------------------------


def test_title_controls_neither_reverse_the_date_nor_hide_text(page, server):
    ask_in_browser(page, KELVY_QUESTION)

    head = page.locator("#citeqa-sources .citeqa-head").filter(has_text="Kelvy harbour")
    assert shown_in_order(head.locator(".citeqa-date")) == "(2024-03-05)"
    assert shown_in_order(head).replace(" ", "").endswith("exe.pngreport(2024-03-05)")
    text = head.inner_text()
    assert "Kelvy harbour water exe.png report" in text
    assert not set(text) & set("\u202e\u200b\u200c")


def test_the_id_picked_in_the_remove_list_is_the_id_removed(page, server):
    kelvy, bridge = article_id(server, "Kelvy harbour"), article_id(server, BRIDGE_TITLE)
    page.get_by_role("tab", name="Articles").click()
    cells = page.locator("#citeqa-articles").inner_text()
    assert "Kelvy harbour water exe.png report" in cells and "\u200b" not in cells
    page.locator("#citeqa-chosen input").click()
    option = page.get_by_role("option").filter(has_text="Kelvy harbour")
    shown = shown_in_order(option)
    assert shown.replace(" ", "").lstrip("✓").startswith(kelvy)  # the id, first, in order
    assert "\u202e" not in option.inner_text()
    option.click()
    page.keyboard.press("Escape")
    page.locator("#citeqa-drop").click()
    page.wait_for_function(
        "() => document.querySelector('#citeqa-result textarea').value.startsWith('Removed 1')"
    )
    ids = {a.id for a in server.assistant.articles()}
    assert kelvy not in ids and bridge in ids


# -- 3: long fields ---------------------------------------------------------------------------


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_ten_thousand_character_fields_keep_every_panel_in_shape(page, server):
    ask_in_browser(page, LONG_QUESTION)

    head = page.locator("#citeqa-sources .citeqa-head").filter(has_text="Brindle ferry")
    assert head.bounding_box()["height"] < 200
    assert head.locator(".citeqa-title").get_attribute("title") == LONG_TITLE
    panel = page.locator("#citeqa-sources")
    assert panel.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    assert no_horizontal_overflow(page)

    page.get_by_role("tab", name="Articles").click()
    table = page.locator("#citeqa-articles")
    table.wait_for()
    view = table.bounding_box()
    for header in ("title", "published", "source", "sentences", "chunks"):
        cell = table.locator("th", has_text=header).first.bounding_box()
        assert cell and cell["x"] + cell["width"] <= view["x"] + view["width"] + 1, header
    row = table.locator("tr", has_text="Brindle ferry").first.bounding_box()
    assert row["height"] < 200
    assert no_horizontal_overflow(page)
    page.locator("#citeqa-chosen input").click()
    option = page.get_by_role("option").filter(has_text="Brindle ferry")
    assert len(option.inner_text()) < 150
    assert option.bounding_box()["height"] < 100
    assert no_horizontal_overflow(page)


# -- 4: a hurried user -------------------------------------------------------------------------


def user_turns(page) -> list[str]:
    return page.locator("#citeqa-chat [data-testid='user']").all_inner_texts()


def test_enter_twice_adds_no_empty_turn_and_keeps_the_sources(page):
    box = page.locator("#citeqa-q textarea")
    box.fill(BRIDGE_QUESTION)
    box.press("Enter")
    box.press("Enter")
    page.wait_for_selector("#citeqa-sources mark")
    page.wait_for_timeout(1_500)  # a second answer would have started by now
    box.press("Enter")  # and once more on the empty box, after the answer
    page.wait_for_timeout(1_500)

    assert [t.strip() for t in user_turns(page)] == [BRIDGE_QUESTION]
    assert "⚠" not in page.inner_text("#citeqa-chat")
    assert BRIDGE_TITLE in page.inner_text("#citeqa-sources")  # still the answer shown


@pytest.fixture
def slow_answers(server):
    """Each answer takes two seconds more, so a question can be typed while it is written."""
    real = server.assistant.stream

    def slow(*args, **kwargs):
        time.sleep(2)
        yield from real(*args, **kwargs)

    server.assistant.stream = slow
    yield
    del server.assistant.stream


def test_question_typed_while_answering_is_sent_after(page, slow_answers):
    box = page.locator("#citeqa-q textarea")
    box.fill(BRIDGE_QUESTION)
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('#citeqa-q textarea').value === ''")
    box.fill(LONG_QUESTION)  # typed while the first answer is on its way
    box.press("Enter")
    page.wait_for_timeout(500)
    assert box.input_value() in ("", LONG_QUESTION)  # sent or waiting; never dropped

    page.wait_for_function(
        "() => document.querySelectorAll('#citeqa-chat [data-testid=\"user\"]').length === 2",
        timeout=60_000,
    )
    page.wait_for_function(
        "() => document.querySelector('#citeqa-sources').innerText.includes('Brindle ferry')",
        timeout=60_000,
    )
    assert [t.strip() for t in user_turns(page)] == [BRIDGE_QUESTION, LONG_QUESTION]
    bots = page.locator("#citeqa-chat [data-testid='bot']").all_inner_texts()
    assert "9,600" in bots[0] and "late sailing" in bots[-1]
    assert BRIDGE_TITLE not in page.inner_text("#citeqa-sources")  # the last answer's sources
    assert box.input_value() == ""
