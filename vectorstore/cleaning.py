"""Plain-text and markdown article cleaning: drop page furniture, keep the body, read the header.

Scraped text pages carry widgets ("A- A A+", "reading time: 5 min."), share rows, bylines, repeated
titles and site footers, sometimes in another language. The rules here are line rules, each named,
so a wrong drop can be traced to the rule that made it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vectorstore.dates import parse_date

_I = re.IGNORECASE
_BOILERPLATE = {
    "reading-time": re.compile(r"^(reading time\b.*|\d+\s*min(ute)?s?\s+read\b.*)$", _I),
    "font-size-widget": re.compile(r"^(A\s*-\s*A\s*A\s*\+|A\s*A\s*A)$"),
    "share-row": re.compile(
        r"^(share( this( article| story)?)?|tweet|print|e-?mail|whatsapp|facebook|twitter|x|"
        r"linkedin|telegram|reddit|copy link|follow us( on)?)\b[\s:|/·•,]*"
        r"((share|tweet|print|e-?mail|whatsapp|facebook|twitter|x|linkedin|telegram|reddit|"
        r"copy link)[\s|/·•,]*)*$",
        _I,
    ),
    "copyright": re.compile(r"(©|\(c\)\s*\d{4}|\bcopyright\b|\ball rights reserved\b)", _I),
    "navigation": re.compile(
        r"^(advertisement|sponsored( content)?|related( news| articles| stories)?|read more|"
        r"see also|most read|top stories|subscribe\b.*|sign up\b.*|newsletter\b.*|"
        r"skip to (main )?content|back to top|comments?\s*\(\d+\))$",
        _I,
    ),
    "breadcrumb": re.compile(r"^\S.{0,40}(\s[|»>›/]\s.{1,40}){2,}$"),
    "other-news": re.compile(r"^(other|more|diğer)\s.{1,60}\s(news|haberleri)\s*\d*$", _I),
}
_DATE_LINE = re.compile(
    r"^(?:publish(?:ed)?(?:\s+date|\s+on)?|updated(?:\s+on)?|posted(?:\s+on)?|date)\s*:?\s*"
    r"(?P<date>.+?)(?:\s+[—–|]\s+(?P<source>.+))?$",
    _I,
)
_FIELD_LINE = re.compile(r"^(?P<key>title|source|url|author|byline)\s*:\s*(?P<value>.+)$", _I)
_BYLINE = re.compile(r"^(?:by|By|BY)\s+(?P<name>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,4})\s*$")
_SENTENCE_END = re.compile(r"[.!?:;\"”’')\]]$")
# where a paragraph's last sentence starts: after . ! ? (and a closing quote) and a space
_LAST_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*\s+")
ANNOUNCEMENT_WORDS = 12  # "Speaking to reporters on Monday, the board chair Imogen Rask said:"
_SPEECH = frozenset(
    "said says say added adds told tells wrote writes stated states explained explains asked "
    "asks replied replies continued continues warned warns declared declares noted notes "
    "announced announces insisted insists argued argues read reads".split()
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ENGLISH_FUNCTION_WORDS = frozenset(
    "a an the of to in on at for from by with and or but is are was were be been has have had "
    "it its this that these those as not no will would can could should may might than then "
    "there their they he she we you i his her our who which what when where why how".split()
)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_MD_PREFIX = re.compile(r"^(\s*>\s?|\s*[-*+]\s+|\s*\d+[.)]\s+)")


@dataclass(frozen=True)
class CleanText:
    """The body (paragraphs separated by blank lines) and what the header told us."""

    title: str
    body: str
    published: str = ""
    author: str = ""
    source: str = ""
    url: str = ""
    dropped: tuple[tuple[str, str], ...] = ()  # (rule, line) for tracing


def markdown_to_text(text: str) -> str:
    """Markdown syntax off, words kept; images dropped (they are not sentences)."""
    lines = []
    for line in text.splitlines():
        if line.strip().startswith("```"):
            continue
        line = _MD_HEADING.sub("", line)
        line = _MD_PREFIX.sub("", line)
        line = _MD_IMAGE.sub("", line)
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_EMPHASIS.sub(r"\2", line)
        lines.append(line)
    return "\n".join(lines)


def english_share(text: str) -> float:
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return 0.0
    return sum(w in _ENGLISH_FUNCTION_WORDS for w in words) / len(words)


def clean_text(raw: str) -> CleanText:
    """Split a scraped text page into title, header fields and body paragraphs."""
    dropped: list[tuple[str, str]] = []
    fields: dict[str, str] = {}
    kept: list[str] = []  # lines, '' marks a paragraph break
    for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.strip().replace("\u00a0", " ")
        if not line:
            kept.append("")
            continue
        rule = _boilerplate_rule(line)
        if rule:
            dropped.append((rule, line))
            continue
        if _header_field(line, fields):
            dropped.append(("header-field", line))
            continue
        kept.append(line)

    title = fields.pop("title", "") or _first_title_line(kept)
    paragraphs = _paragraphs(kept)
    english = english_share(" ".join(paragraphs)) >= 0.12
    body: list[str] = []
    for para in _quotes_with_speakers(paragraphs):
        if title and _same(para, title):
            dropped.append(("repeated-title", para))
        elif _is_label(para):
            dropped.append(("short-label", para))
        elif not body and _is_heading(para):
            dropped.append(("leading-heading", para))
        elif english and len(_WORD.findall(para)) >= 4 and english_share(para) < 0.04:
            dropped.append(("other-language", para))
        else:
            body.append(para)
    return CleanText(
        title=title,
        body="\n\n".join(body),
        published=fields.get("published", ""),
        author=fields.get("author", ""),
        source=fields.get("source", ""),
        url=fields.get("url", ""),
        dropped=tuple(dropped),
    )


def _boilerplate_rule(line: str) -> str | None:
    for name, pattern in _BOILERPLATE.items():
        if pattern.search(line) if name == "copyright" else pattern.match(line):
            if name == "copyright" and len(line) > 200:
                continue  # a long sentence that merely mentions copyright is content
            return name
    return None


def _header_field(line: str, fields: dict[str, str]) -> bool:
    date = _DATE_LINE.match(line)
    if date and len(line) <= 80 and parse_date(date["date"]) is not None:
        fields.setdefault("published", date["date"].strip())
        if date["source"]:
            fields.setdefault("source", date["source"].strip())
        return True
    byline = _BYLINE.match(line)
    if byline:
        fields.setdefault("author", byline["name"])
        return True
    field = _FIELD_LINE.match(line)
    if field and len(line) <= 300:
        key = "author" if field["key"].lower() == "byline" else field["key"].lower()
        fields.setdefault(key, field["value"].strip())
        return True
    return False


def _first_title_line(lines: list[str]) -> str:
    for line in lines[:12]:
        if line and len(line.split()) <= 25 and not line.endswith((".", "!", "?", ":")):
            return line
    return ""


def _paragraphs(lines: list[str]) -> list[str]:
    """Blank-line blocks; hard-wrapped lines inside a block are joined with a space."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line:
            current.append(line)
            continue
        if current:
            paragraphs.extend(_join_wrapped(current))
            current = []
    return paragraphs


def _join_wrapped(block: list[str]) -> list[str]:
    out = [block[0]]
    for line in block[1:]:
        previous = out[-1]
        # a line that starts in lower case, with a digit or with closing punctuation goes on
        # the previous one ("Concentrated O" / "2 will allow…" in scraped chemistry text)
        continues = line[:1].islower() or line[:1].isdigit() or line[:1] in ",;:)]}%"
        if not _SENTENCE_END.search(previous) and continues:
            out[-1] = f"{previous} {line}"
        else:
            out.append(line)
    return out


def _quotes_with_speakers(paragraphs: list[str]) -> list[str]:
    """A paragraph that ends by announcing a quote ("Board chair Imogen Rask said:") goes on
    the paragraph that follows: the quote keeps its speaker, and the announcement is no
    sentence of its own (which, cited alone, would answer nothing)."""
    out: list[str] = []
    for para in paragraphs:
        if out and _announces_quote(out[-1]):
            out[-1] = f"{out[-1]} {para}"
        else:
            out.append(para)
    return out


def _announces_quote(paragraph: str) -> bool:
    if not paragraph.endswith(":"):
        return False
    tail = _LAST_SENTENCE_END.split(paragraph)[-1].lower().split()
    return len(tail) <= ANNOUNCEMENT_WORDS and any(w.strip(",:") in _SPEECH for w in tail)


def _is_label(paragraph: str) -> bool:
    """Bylines, section labels, credits: a few words with no sentence punctuation."""
    return len(paragraph.split()) <= 5 and not _SENTENCE_END.search(paragraph)


def _is_heading(paragraph: str) -> bool:
    return len(paragraph.split()) <= 25 and not _SENTENCE_END.search(paragraph)


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())
