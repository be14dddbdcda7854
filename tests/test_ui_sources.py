"""Citation links and article views as HTML/markdown (issue 16, item 4): every link is made by
citeqa from a citation's number and ids, never from article text; the article view is escaped
text with exact `text[start:end]` marks and the article's own http(s) URL as its one link."""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace

import lxml.html
import pytest

from qa.types import Answer, Citation
from ui.render import article_view, chat_text, linked_chat_text, sources_html

pytestmark = pytest.mark.unit

ID = "0123456789abcdef"
TEXT = (
    "The ferry [3] sails at six. <img src=x onerror=alert(1)> is on the sign.\n\n"
    "Tickets cost [1](javascript:alert(2)) four crowns at https://evil.example/t today."
)
# what citeqa adds to the panel for item 4, beyond the hardening's whitelist (div, ol, li, span,
# p, mark, strong; class, style, id, value): the article view's <section hidden> and the
# source's <button type aria-controls>, both inert without the panel's own script; the mark's
# data-n and title (its number); the article's own URL as <a href target rel> (http/https only)
ALLOWED_TAGS = {"div", "ol", "li", "span", "p", "mark", "strong", "section", "button", "a"}
ALLOWED_ATTRS = {
    "class",
    "style",
    "id",
    "value",
    "hidden",
    "type",
    "aria-controls",
    "data-n",
    "title",
    "href",
    "target",
    "rel",
}


def cite(n: int, sentence: str, start: int, url: str = "", article_id: str = ID) -> Citation:
    return Citation(
        n=n,
        article_id=article_id,
        title="Ferry <b>notice</b> [2]",
        published=datetime(2025, 7, 1),
        url=url,
        sentence_index=n - 1,
        sentence=sentence,
        start=start,
        end=start + len(sentence),
        score=1.0,
    )


def spans() -> tuple[Citation, Citation]:
    first = "The ferry [3] sails at six."
    second = "Tickets cost [1](javascript:alert(2)) four crowns at https://evil.example/t today."
    return cite(1, first, TEXT.index(first)), cite(2, second, TEXT.index(second))


def answer_of(*citations: Citation) -> Answer:
    text = " ".join(f"{c.sentence} [{c.n}]" for c in citations)
    return Answer("q?", text, tuple(citations), False, {}, (), "extractive", "q?")


def test_only_markers_citeqa_added_become_links():
    first, second = spans()
    answer = answer_of(first, second)
    shown = linked_chat_text(answer.text, answer.citations)
    links = re.findall(r"\]\((#[^)]*)\)", shown)
    assert links == [f"#citeqa-cite-{ID}-0", f"#citeqa-cite-{ID}-1"]
    # the article's own "[3]" and "[1](javascript:…)" stay escaped text
    assert "\\[3\\] sails" in shown
    assert "\\[1\\]\\(javascript\\:alert\\(2\\)\\)" in shown
    assert "https\\:\\/\\/evil" in shown
    # without citations (the /chat API, earlier behaviour) nothing is linked
    assert "](#" not in chat_text(answer.text)


def test_a_number_without_a_citation_is_not_linked():
    first, _ = spans()
    shown = linked_chat_text(f"{first.sentence} [1] [7]", [first])
    assert shown.count("](#citeqa-cite-") == 1
    assert shown.endswith("\\[7\\]")  # shown as [7], not a link


def test_odd_article_ids_never_reach_an_element_id():
    first, _ = spans()
    odd = cite(1, first.sentence, first.start, article_id="x' onclick='alert(1)")
    shown = linked_chat_text(f"{odd.sentence} [1]", [odd])
    assert "onclick" not in shown and "(#citeqa-cite-n1-0)" in shown


def test_article_view_is_whole_escaped_text_with_exact_marks():
    first, second = spans()
    article = SimpleNamespace(
        id=ID,
        title="Ferry <b>notice</b> [2]",
        published=datetime(2025, 7, 1),
        source="Courier <i>x</i>",
        url="https://news.example/ferry",
    )
    view = article_view(article, TEXT, [second, first])
    root = lxml.html.fragment_fromstring(view, create_parent="div")
    marks = [m.text_content() for m in root.iter("mark")]
    assert marks == [TEXT[first.start : first.end], TEXT[second.start : second.end]]
    assert root.text_content().count("<img src=x onerror=alert(1)>") == 1  # as characters
    assert [a.get("href") for a in root.iter("a")] == ["https://news.example/ferry"]
    assert "Courier <i>x</i>" in root.text_content()
    text = root.find_class("citeqa-text")[0].text_content()
    assert text == TEXT  # the whole stored text, verbatim


def test_stale_offsets_are_never_marked():
    first, _ = spans()
    moved = cite(1, first.sentence, first.start + 1)
    view = article_view(
        SimpleNamespace(id=ID, title="T", published=None, source="", url=""), TEXT, [moved]
    )
    assert "<mark" not in view


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "//evil.example", "www.evil.example", ""]
)
def test_article_view_links_only_http_urls(url):
    first, _ = spans()
    view = article_view(
        SimpleNamespace(id=ID, title="T", published=None, source="", url=url), TEXT, [first]
    )
    assert "<a" not in view


def test_panel_with_article_views_keeps_to_the_whitelist():
    first, second = spans()
    other = cite(3, "Elsewhere.", 0, article_id="fedcba9876543210")
    answer = answer_of(first, second, other)
    looked_up: list[str] = []

    def article_of(article_id: str):
        looked_up.append(article_id)
        if article_id != ID:
            return None  # removed meanwhile: its source shows, without a view
        return SimpleNamespace(
            id=ID, title="Ferry", published=None, source="", url="https://news.example/ferry"
        ), TEXT

    panel = sources_html(answer, lambda c: (c.sentence, 0, len(c.sentence)), article_of)
    assert looked_up == [ID, "fedcba9876543210"]  # one view per article
    root = lxml.html.fragment_fromstring(panel, create_parent="div")
    for element in root.iter():
        if element is root:
            continue
        assert element.tag in ALLOWED_TAGS, element.tag
        assert not set(element.attrib) - ALLOWED_ATTRS, element.attrib
        for name, value in element.attrib.items():
            assert not name.startswith("on")
            if name == "href":
                assert value == "https://news.example/ferry"
    sections = root.findall(".//section")
    assert len(sections) == 1 and sections[0].get("hidden") is not None
    assert sections[0].get("id") == f"citeqa-article-{ID}"
    buttons = root.findall(".//button")
    assert [b.get("aria-controls") for b in buttons] == [f"citeqa-article-{ID}"] * 2
    ids = [li.get("id") for li in root.iter("li")]
    assert ids == [f"citeqa-cite-{ID}-0", f"citeqa-cite-{ID}-1", "citeqa-cite-fedcba9876543210-2"]
