"""Unit tests for vectorstore.cleaning (and the seed page through the .txt loader)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vectorstore.cleaning import clean_text, english_share, markdown_to_text
from vectorstore.loaders import load_file
from vectorstore.types import Article

pytestmark = pytest.mark.unit

SEED_TITLE = "NATO and EU sign declaration of cooperation against common threats"
SEED_KEPT = "The joint statement was signed by NATO Secretary General Jens Stoltenberg"
SEED_FURNITURE = ("A- A A+", "reading time", "Levent", "Suç teşkil", "En güncel", "Haberleri")

BODY_1 = (
    "Work to repair the storm-damaged harbour wall in Saltmere began on Monday, "
    "the town council said."
)
BODY_2 = "The repairs are expected to take eight weeks and will cost about 1.2 million pounds."


def _only_article(results: list) -> Article:
    assert len(results) == 1, results
    article = results[0]
    assert isinstance(article, Article), article
    return article


# -- the seed page -----------------------------------------------------------------------------


def test_seed_clean_text_title_date_and_body(seed_file):
    cleaned = clean_text(seed_file.read_text("utf-8"))
    assert cleaned.title == SEED_TITLE
    assert cleaned.published.startswith("10/01/23")
    assert SEED_KEPT in cleaned.body
    for furniture in SEED_FURNITURE:
        assert furniture not in cleaned.body, furniture
    # the repeated title lines are not body paragraphs
    assert SEED_TITLE not in cleaned.body.split("\n\n")
    rules = {rule for rule, _ in cleaned.dropped}
    assert {"reading-time", "font-size-widget", "header-field", "repeated-title"} <= rules


@pytest.mark.parametrize(
    ("date_order", "expected"),
    [
        ("dmy", datetime(2023, 1, 10, 16, 48, tzinfo=UTC)),
        ("mdy", datetime(2023, 10, 1, 16, 48, tzinfo=UTC)),
    ],
)
def test_seed_load_file_date_order(seed_file, date_order, expected):
    article = _only_article(load_file(seed_file, date_order=date_order))
    assert article.title == SEED_TITLE
    assert article.published is not None
    assert article.published.date() == expected.date()
    assert article.published == expected
    assert SEED_KEPT in article.text
    for furniture in SEED_FURNITURE:
        assert furniture not in article.text, furniture
    assert article.origin == str(seed_file)


def test_seed_body_paragraphs_are_clean(seed_file):
    article = _only_article(load_file(seed_file))
    paragraphs = article.text.split("\n\n")
    assert all(p == p.strip() and p for p in paragraphs)
    assert paragraphs[0].startswith("A joint statement was signed between NATO")
    assert paragraphs[-1].startswith('"As the EU and NATO, we are closer than ever before,"')


# -- header fields and furniture ---------------------------------------------------------------


def test_share_rows_copyright_and_navigation_dropped():
    raw = "\n".join(
        [
            "Harbour wall repairs begin in Saltmere",
            "Published: 2024-06-01 — Saltmere Echo",
            "",
            "Share this article: Facebook | Twitter | Email",
            "",
            BODY_1,
            "",
            BODY_2,
            "",
            "Tweet  Share  Print",
            "© 2024 Saltmere Echo. All rights reserved.",
            "Copyright 2024 Saltmere Echo",
            "(c) 2024 Saltmere Echo",
            "Advertisement",
            "Read more",
            "Home | News | Local",
        ]
    )
    cleaned = clean_text(raw)
    assert cleaned.title == "Harbour wall repairs begin in Saltmere"
    assert cleaned.body == f"{BODY_1}\n\n{BODY_2}"
    assert cleaned.published == "2024-06-01"
    assert cleaned.source == "Saltmere Echo"
    dropped = dict((line, rule) for rule, line in cleaned.dropped)
    assert dropped["Share this article: Facebook | Twitter | Email"] == "share-row"
    assert dropped["Tweet  Share  Print"] == "share-row"
    assert dropped["© 2024 Saltmere Echo. All rights reserved."] == "copyright"
    assert dropped["Copyright 2024 Saltmere Echo"] == "copyright"
    assert dropped["(c) 2024 Saltmere Echo"] == "copyright"
    assert dropped["Advertisement"] == "navigation"
    assert dropped["Read more"] == "navigation"
    assert dropped["Home | News | Local"] == "breadcrumb"


def test_long_sentence_mentioning_copyright_is_kept():
    long = (
        "The court ruled that the band's copyright claim over the melody failed, because "
        "the judge found that the disputed four-bar phrase had appeared in a folk song "
        "published decades earlier and was therefore common property for every musician."
    )
    assert len(long) > 200
    cleaned = clean_text(f"Band loses melody case\n\n{long}")
    assert long in cleaned.body


def test_capitalised_byline_gives_author():
    cleaned = clean_text(f"Harbour wall repairs begin\nBy Jane Doe\n\n{BODY_1}")
    assert cleaned.author == "Jane Doe"


def test_lowercase_byline_gives_author():
    cleaned = clean_text(f"Harbour wall repairs begin\nby Jane Doe\n\n{BODY_1}")
    assert cleaned.author == "Jane Doe"
    assert "Jane Doe" not in cleaned.body


@pytest.mark.parametrize("line", ["Author: Jane Doe", "Byline: Jane Doe"])
def test_author_field_lines(line):
    cleaned = clean_text(f"Harbour wall repairs begin\n{line}\n\n{BODY_1}")
    assert cleaned.author == "Jane Doe"
    assert cleaned.body == BODY_1


def test_byline_never_left_in_body():
    cleaned = clean_text(f"Harbour wall repairs begin\nBy Jane Doe\n\n{BODY_1}\n\n{BODY_2}")
    assert "Jane Doe" not in cleaned.body
    assert cleaned.body == f"{BODY_1}\n\n{BODY_2}"


def test_title_and_url_fields():
    cleaned = clean_text(
        f"Title: Harbour repairs\nURL: https://news.example/harbour\nSource: Echo\n\n{BODY_1}"
    )
    assert cleaned.title == "Harbour repairs"
    assert cleaned.url == "https://news.example/harbour"
    assert cleaned.source == "Echo"
    assert cleaned.body == BODY_1


def test_first_short_line_without_stop_is_title():
    cleaned = clean_text(f"\n\nHarbour wall repairs begin\n\n{BODY_1}")
    assert cleaned.title == "Harbour wall repairs begin"
    assert cleaned.body == BODY_1


def test_hard_wrapped_lines_joined_and_crlf_handled():
    raw = (
        "Harbour wall repairs begin\r\n\r\nWork to repair the storm-damaged harbour wall\r\n"
        "in Saltmere began on Monday, the town council said.\r\n"
    )
    cleaned = clean_text(raw)
    assert cleaned.body == BODY_1


def test_non_breaking_spaces_become_spaces():
    cleaned = clean_text(f"Harbour wall repairs begin\n\n{BODY_1.replace(' ', chr(0xA0), 3)}")
    assert "\u00a0" not in cleaned.body
    assert cleaned.body == BODY_1


def test_other_language_paragraph_dropped_in_english_article():
    turkish = (
        "Suç teşkil edecek, yasadışı, tehditkar, rahatsız edici, hakaret ve küfür içeren "
        "içeriklerden doğan sorumluluk içeriği gönderen üyelere aittir."
    )
    cleaned = clean_text(f"Harbour wall repairs begin\n\n{BODY_1}\n\n{BODY_2}\n\n{turkish}")
    assert "Suç" not in cleaned.body
    assert ("other-language", turkish) in cleaned.dropped


def test_non_english_article_is_kept():
    # with no English to compare against, a German article is not thrown away
    german = (
        "Die Arbeiten an der Hafenmauer in Saltmere haben am Montag begonnen. "
        "Sie sollen acht Wochen dauern und rund eine Million Pfund kosten."
    )
    cleaned = clean_text(f"Hafenmauer wird repariert\n\n{german}")
    assert cleaned.body == german


def test_english_share():
    assert english_share("") == 0.0
    assert english_share("the cat and the dog") == pytest.approx(3 / 5)
    assert english_share("Bugün hava çok güzel") == 0.0


# -- markdown -----------------------------------------------------------------------------------


def test_markdown_to_text_strips_syntax_and_keeps_words():
    md = "\n".join(
        [
            "# Heading Title",
            "",
            "Some **bold** and _italic_ text with a [link](http://x.example/y) here.",
            "An image ![alt text](img.png) sits here.",
            "> A quoted line.",
            "- a list item",
            "* another item",
            "1. a numbered item",
            "```",
            "```",
        ]
    )
    text = markdown_to_text(md)
    lines = text.splitlines()
    assert lines[0] == "Heading Title"
    assert lines[2] == "Some bold and italic text with a link here."
    assert "img.png" not in text and "alt text" not in text and "![" not in text
    assert "http://x.example" not in text
    assert "A quoted line." in lines
    assert "a list item" in lines
    assert "another item" in lines
    assert "a numbered item" in lines
    assert "```" not in text
    for syntax in ("**", "# ", "> ", "[", "]("):
        assert syntax not in text


def test_markdown_article_through_clean_text():
    md = (
        "# Harbour wall repairs begin in Saltmere\n\n"
        "*Published 2 April 2025 — Northern Ledger*\n\n"
        f"{BODY_1}\n\n**{BODY_2}**\n"
    )
    cleaned = clean_text(markdown_to_text(md))
    assert cleaned.title == "Harbour wall repairs begin in Saltmere"
    assert cleaned.published == "2 April 2025"
    assert cleaned.source == "Northern Ledger"
    assert cleaned.body == f"{BODY_1}\n\n{BODY_2}"
