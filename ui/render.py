"""Article text to safe HTML and chat text: everything from articles is escaped, never trusted.

Sources are rendered by us: each cited sentence shown inside its paragraph with the sentence
in <mark>, title, date and a link (http/https only). Chat text is escaped for both HTML and
markdown, so a markdown image, a <script>, a web address or `$$…$$` in an article shows as
characters and loads, links and renders nothing. Titles, dates and ids are shown in bidi
isolation without bidi or zero-width controls, and long fields are cut for display.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlparse

from qa.types import Answer, Citation
from vectorstore.dates import day

# every character a markdown renderer (marked, GFM) gives a meaning, plus ':', '/', '@' that
# make GFM autolinks (https://…, www.…, a@b.c) and '$' that makes math
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:/@$=^%])")
_CITATION_MARK = re.compile(r"\\\[(\d+)\\\]")
# explicit bidi formatting (embeddings, overrides, isolates): reorder everything after them
BIDI_FORMATTING = "\u202a-\u202e\u2066-\u2069"
# every invisible control a title, source, author, id or question may hide or reorder with
INVISIBLE = re.compile(f"[{BIDI_FORMATTING}\u061c\u200b-\u200f\u2060-\u2064\ufeff\u180e]")
_FORMATTING = re.compile(f"[{BIDI_FORMATTING}]")
_ISOLATE = "unicode-bidi:plaintext"  # what dir="auto" does: its own direction, in isolation
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate for plain-text labels

TITLE_CHARS = 160  # sources heading
CELL_CHARS = 90  # a cell of the articles table, a dropdown label
CONTEXT_CHARS = 5_000  # paragraph shown on each side of a cited sentence


def escape_markdown(text: str) -> str:
    """Text that a markdown renderer shows verbatim (and an HTML sanitizer leaves alone)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def unescape_markdown(text: str) -> str:
    """Undo escape_markdown (for reading earlier questions back out of the chat)."""
    return re.sub(r"\\(.)", r"\1", text)


def plain(text: Any) -> str:
    """A field for display: without bidi and zero-width controls (they reorder or hide)."""
    return INVISIBLE.sub("", str(text if text is not None else ""))


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending in … when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def chat_text(answer_text: str) -> str:
    """An answer for the Chatbot: escaped, with our own [n] markers kept readable.

    Explicit bidi formatting cannot reach the chat (the loader removes it from stored text);
    it is dropped here as well, for articles stored before that."""
    return _CITATION_MARK.sub(r"[\1]", escape_markdown(_FORMATTING.sub("", answer_text)))


def question_text(question: str) -> str:
    """A question as the chat shows it: one line, no invisible controls, escaped."""
    return escape_markdown(" ".join(plain(question).split()))


def safe_url(url: str) -> str | None:
    try:
        parsed = urlparse(url)
    except ValueError:
        return None
    return url if parsed.scheme in ("http", "https") and parsed.netloc else None


def sources_html(answer: Answer | None,
                 paragraph_of: Callable[[Citation], tuple[str, int, int]] | None) -> str:
    """The sources panel for one answer; `paragraph_of(c)` gives (paragraph, start, end)."""
    if answer is None:
        return ("<div class='citeqa-sources' style='overflow-wrap:anywhere'>"
                "<p>Sources of the latest answer appear here.</p></div>")
    if answer.abstained or not answer.citations:
        return ("<div class='citeqa-sources citeqa-none'><p><strong>No sources.</strong> "
                "The articles do not answer this question, so nothing is cited.</p></div>")
    items = [_source_item(c, paragraph_of) for c in answer.citations]
    return ("<div class='citeqa-sources' style='overflow-wrap:anywhere;min-width:0'>"
            "<ol class='citeqa-list' style='list-style:none;padding-left:0'>"
            + "".join(items) + "</ol></div>")


def _isolated(text: str, limit: int, cls: str) -> str:
    """`text` cut to `limit`, isolated for bidi; the whole value as tooltip when cut."""
    shown = plain(text).strip()
    short = cut(shown, limit)
    tip = f" title='{html.escape(shown, quote=True)}'" if short != shown else ""
    return f"<span class='{cls}' style='{_ISOLATE}'{tip}>{html.escape(short)}</span>"


def _source_item(c: Citation, paragraph_of: Callable[[Citation], tuple[str, int, int]] | None
                 ) -> str:
    title = _isolated(c.title, TITLE_CHARS, "citeqa-title")
    url = safe_url(c.url)
    heading = (f"<a href='{html.escape(url, quote=True)}' target='_blank' "
               f"rel='noopener noreferrer nofollow'>{title}</a>" if url else title)
    when = html.escape(day(c.published)) if c.published else "undated"  # type: ignore[arg-type]
    if paragraph_of:
        paragraph, start, end = paragraph_of(c)
    else:
        paragraph, start, end = c.sentence, 0, len(c.sentence)
    before, after = paragraph[:start], paragraph[end:]
    if len(before) > CONTEXT_CHARS:
        before = "…" + before[-CONTEXT_CHARS:].lstrip()
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS].rstrip() + "…"
    body = (html.escape(_FORMATTING.sub("", before)) + "<mark class='citeqa-cited'>"
            + html.escape(_FORMATTING.sub("", paragraph[start:end])) + "</mark>"
            + html.escape(_FORMATTING.sub("", after)))
    return (f"<li class='citeqa-source' id='citeqa-source-{c.n}' value='{c.n}'>"
            f"<div class='citeqa-head'><span class='citeqa-n'>[{c.n}]</span> {heading} "
            f"<span class='citeqa-date' style='unicode-bidi:isolate'>({when})</span></div>"
            f"<p class='citeqa-paragraph' style='{_ISOLATE}'>{body}</p></li>")


def articles_table(rows: Sequence) -> list[list[object]]:
    """The stored articles, every field whole (the /articles API)."""
    return [[a.id, a.title, day(a.published), a.source, a.sentences, a.chunks] for a in rows]


def articles_view(rows: Sequence) -> list[list[object]]:
    """The articles table as shown: titles and sources without controls and cut."""
    return [[a.id, cut(plain(a.title).strip(), CELL_CHARS), day(a.published),
             cut(plain(a.source).strip(), CELL_CHARS // 2), a.sentences, a.chunks]
            for a in rows]


def id_choices(rows: Sequence) -> list[tuple[str, str]]:
    """("id · title", id) pairs for a picker: the id first, the title cut and isolated."""
    return [(f"{a.id} · {FSI}{cut(plain(a.title).strip(), CELL_CHARS)}{PDI}", a.id)
            for a in rows]


def label_choices(values: Sequence[str]) -> list[tuple[str, str]]:
    """(shown, value) pairs for a picker of free text such as sources."""
    return [(cut(plain(v), CELL_CHARS), v) for v in values]


CSS = """
.citeqa-sources { overflow-wrap: anywhere; }
.citeqa-sources mark.citeqa-cited { background: #fff3a3; padding: 0 2px; }
.citeqa-sources .citeqa-n { font-weight: 700; }
.citeqa-sources .citeqa-date { color: #666; }
.citeqa-sources li { margin-bottom: 0.8em; }
"""
