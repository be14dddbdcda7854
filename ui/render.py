"""Article text to safe HTML and chat text: everything from articles is escaped, never trusted.

Sources are rendered by us: each cited sentence shown inside its paragraph with the sentence
in <mark>, title, date and a link (http/https only). Chat text is escaped for both HTML and
markdown, so a markdown image or a <script> in an article shows as characters and loads nothing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from urllib.parse import urlparse

from qa.types import Answer, Citation
from vectorstore.dates import day

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")
_CITATION_MARK = re.compile(r"\\\[(\d+)\\\]")


def escape_markdown(text: str) -> str:
    """Text that a markdown renderer shows verbatim (and an HTML sanitizer leaves alone)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def unescape_markdown(text: str) -> str:
    """Undo escape_markdown (for reading earlier questions back out of the chat)."""
    return re.sub(r"\\(.)", r"\1", text)


def chat_text(answer_text: str) -> str:
    """An answer for the Chatbot: escaped, with our own [n] markers kept readable."""
    return _CITATION_MARK.sub(r"[\1]", escape_markdown(answer_text))


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
        return "<div class='citeqa-sources'><p>Sources of the latest answer appear here.</p></div>"
    if answer.abstained or not answer.citations:
        return ("<div class='citeqa-sources citeqa-none'><p><strong>No sources.</strong> "
                "The articles do not answer this question, so nothing is cited.</p></div>")
    items = [_source_item(c, paragraph_of) for c in answer.citations]
    return ("<div class='citeqa-sources'><ol class='citeqa-list' "
            "style='list-style:none;padding-left:0'>" + "".join(items) + "</ol></div>")


def _source_item(c: Citation, paragraph_of: Callable[[Citation], tuple[str, int, int]] | None
                 ) -> str:
    title = html.escape(c.title)
    url = safe_url(c.url)
    heading = (f"<a href='{html.escape(url, quote=True)}' target='_blank' "
               f"rel='noopener noreferrer nofollow'>{title}</a>" if url else title)
    when = html.escape(day(c.published)) if c.published else "undated"  # type: ignore[arg-type]
    if paragraph_of:
        paragraph, start, end = paragraph_of(c)
        body = (html.escape(paragraph[:start]) + f"<mark class='citeqa-cited'>"
                f"{html.escape(paragraph[start:end])}</mark>" + html.escape(paragraph[end:]))
    else:
        body = f"<mark class='citeqa-cited'>{html.escape(c.sentence)}</mark>"
    return (f"<li class='citeqa-source' id='citeqa-source-{c.n}' value='{c.n}'>"
            f"<div class='citeqa-head'><span class='citeqa-n'>[{c.n}]</span> {heading} "
            f"<span class='citeqa-date'>({when})</span></div>"
            f"<p class='citeqa-paragraph'>{body}</p></li>")


def articles_table(rows: Sequence) -> list[list[object]]:
    return [[a.id, a.title, day(a.published), a.source, a.sentences, a.chunks] for a in rows]


CSS = """
.citeqa-sources mark.citeqa-cited { background: #fff3a3; padding: 0 2px; }
.citeqa-sources .citeqa-n { font-weight: 700; }
.citeqa-sources .citeqa-date { color: #666; }
.citeqa-sources li { margin-bottom: 0.8em; }
"""
