"""HTML pages to article text with trafilatura, after removing text a reader never sees.

Hidden elements (display:none, visibility:hidden, the hidden attribute, aria-hidden) are cut
before extraction: an article must not be able to smuggle instructions to an LLM in text that
a reader of the page cannot check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
import trafilatura
from lxml import etree

from vectorstore.errors import CiteqaError

_HIDDEN_STYLE = re.compile(
    r"(display\s*:\s*none|visibility\s*:\s*(hidden|collapse)"
    r"|font-size\s*:\s*(0+(\.0*)?|\.0+)([a-z]{1,4}|%)?\s*(!\s*important\s*)?(;|$))",
    re.I,
)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)  # "display:/**/none" is display:none


@dataclass(frozen=True)
class HtmlArticle:
    title: str
    body: str
    published: str = ""
    author: str = ""
    source: str = ""
    url: str = ""


class HtmlError(ValueError, CiteqaError):
    pass


def strip_hidden(root: lxml.html.HtmlElement) -> None:
    """Remove elements that are not displayed, with their text."""
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        hidden = (
            element.get("hidden") is not None
            or (element.get("aria-hidden") or "").lower() == "true"
            or bool(_HIDDEN_STYLE.search(_CSS_COMMENT.sub("", element.get("style") or "")))
            or element.tag in ("template", "noscript")
        )
        if hidden and element.getparent() is not None:
            element.drop_tree()


def extract_html(html: str) -> HtmlArticle:
    """Main text and metadata of a page; raises HtmlError when there is no article text."""
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as err:
        raise HtmlError(f"not parseable as HTML ({err})") from None
    strip_hidden(root)
    document = trafilatura.bare_extraction(
        root,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_precision=True,
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text or not text.strip():
        raise HtmlError("no article text found in the page")
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    return HtmlArticle(
        title=(document.title or "").strip(),  # type: ignore[union-attr]
        body="\n\n".join(paragraphs),
        published=(document.date or "").strip(),  # type: ignore[union-attr]
        author=(document.author or "").strip(),  # type: ignore[union-attr]
        source=(document.sitename or "").strip(),  # type: ignore[union-attr]
        url=(document.url or "").strip(),  # type: ignore[union-attr]
    )
