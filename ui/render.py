"""Article text to safe HTML and chat text: everything from articles is escaped, never trusted.

Sources are rendered by us: each cited sentence shown inside its paragraph with the sentence
in <mark>, title, date and a link (http/https only). Chat text is escaped for both HTML and
markdown, so a markdown image, a <script>, a web address or `$$…$$` in an article shows as
characters and loads, links and renders nothing. Titles, dates and ids are shown in bidi
isolation without bidi or zero-width controls, and long fields are cut for display.

Citations one click away: in the chat, each `[n]` that citeqa put after a sentence becomes an
in-page link to its source (`#citeqa-cite-<article id>-<sentence>`); the href is built from the
citation's article id and sentence number, never from article text, and a `[3]` quoted inside a
cited sentence stays text. Each source has a "Whole article" button that opens an article view:
the stored article's title, date, source, URL (the one http/https link) and its whole escaped
text, the answer's cited sentences in <mark> at their exact offsets. `PANEL_JS` (the panel's
`js_on_load`) scrolls to and highlights a clicked citation's source and toggles article views.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlparse

from qa.types import Answer, Citation
from vectorstore.dates import day
from vectorstore.near_duplicates import story_labels

# every character a markdown renderer (marked, GFM) gives a meaning, plus ':', '/', '@' that
# make GFM autolinks (https://…, www.…, a@b.c) and '$' that makes math
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:/@$=^%])")
_CITATION_MARK = re.compile(r"\\\[(\d+)\\\]")
_RAW_MARK = re.compile(r"\[(\d+)\]")
_ID_SAFE = re.compile(r"[0-9A-Za-z_-]{1,128}")
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


def cite_anchor(c: Citation) -> str:
    """The element id of a citation's source in the panel (from its article id and sentence
    number: stored ids are hex digests; anything else falls back to the number)."""
    key = c.article_id if _ID_SAFE.fullmatch(c.article_id) else f"n{c.n}"
    return f"citeqa-cite-{key}-{int(c.sentence_index)}"


def article_anchor(article_id: str) -> str:
    key = article_id if _ID_SAFE.fullmatch(article_id) else "x" + str(abs(hash(article_id)))
    return f"citeqa-article-{key}"


def linked_chat_text(answer_text: str, citations: Sequence[Citation]) -> str:
    """`chat_text`, with each citation marker citeqa added made an in-page link to its source.

    A marker is ours when its number is one of the answer's citations and it stands outside
    every cited sentence quoted in the answer (an article's own "[3]" stays text)."""
    by_n = {c.n: c for c in citations}
    text = _FORMATTING.sub("", answer_text)
    quoted: list[tuple[int, int]] = []
    for c in citations:
        sentence = _FORMATTING.sub("", c.sentence)
        at = text.find(sentence) if sentence else -1
        while at >= 0:
            quoted.append((at, at + len(sentence)))
            at = text.find(sentence, at + 1)
    pieces, done = [], 0
    for m in _RAW_MARK.finditer(text):
        found = by_n.get(int(m.group(1)))
        if found is None or any(a <= m.start() < b for a, b in quoted):
            continue
        pieces.append(escape_markdown(text[done : m.start()]))
        pieces.append(f"[\\[{found.n}\\]](#{cite_anchor(found)})")
        done = m.end()
    pieces.append(escape_markdown(text[done:]))
    return "".join(pieces)


def question_text(question: str) -> str:
    """A question as the chat shows it: one line, no invisible controls, escaped."""
    return escape_markdown(" ".join(plain(question).split()))


def safe_url(url: str) -> str | None:
    try:
        parsed = urlparse(url)
    except ValueError:
        return None
    return url if parsed.scheme in ("http", "https") and parsed.netloc else None


ArticleOf = Callable[[str], tuple[Any, str] | None]  # article id → (StoredArticle, text)


def sources_html(
    answer: Answer | None,
    paragraph_of: Callable[[Citation], tuple[str, int, int]] | None,
    article_of: ArticleOf | None = None,
) -> str:
    """The sources panel for one answer; `paragraph_of(c)` gives (paragraph, start, end);
    with `article_of`, each cited article's whole text is in the panel too (article views,
    hidden until its source's button opens it)."""
    if answer is None:
        return (
            "<div class='citeqa-sources' style='overflow-wrap:anywhere'>"
            "<p>Sources of the latest answer appear here.</p></div>"
        )
    if answer.abstained or not answer.citations:
        return (  # a time filter from the question stays removable: it may be why
            "<div class='citeqa-sources citeqa-none'>"
            + _answer_notes(answer)
            + "<p><strong>No sources.</strong> "
            "The articles do not answer this question, so nothing is cited.</p></div>"
        )
    views: dict[str, str] = {}
    if article_of is not None:
        for c in answer.citations:
            if c.article_id not in views:
                found = article_of(c.article_id)
                cited = [x for x in answer.citations if x.article_id == c.article_id]
                views[c.article_id] = article_view(found[0], found[1], cited) if found else ""
    items = [_source_item(c, paragraph_of, bool(views.get(c.article_id))) for c in answer.citations]
    return (
        "<div class='citeqa-sources' style='overflow-wrap:anywhere;min-width:0'>"
        + _answer_notes(answer)
        + "<ol class='citeqa-list' style='list-style:none;padding-left:0'>"
        + "".join(items)
        + "</ol>"
        + "".join(views.values())
        + "</div>"
    )


def _answer_notes(answer: Answer) -> str:
    """What the reader should know before the sources: the sources disagree; the question's
    own time filtered the articles (and how to change it)."""
    notes = []
    if getattr(answer, "disagreement", False):
        notes.append(
            "<p class='citeqa-disagreement'><strong>Sources differ:</strong> "
            "the cited articles give different figures.</p>"
        )
    filters = getattr(answer, "filters", {}) or {}
    if filters.get("from_question"):
        said = html.escape(filters["from_question"])
        if "note" in filters:
            text = f"“{said}”: {html.escape(filters['note'])}."
        else:
            span = html.escape(f"{filters.get('since', '…')} – {filters.get('until', '…')}")
            text = (
                f"<span class='citeqa-chip'>Only articles published {span} (from “{said}” in "
                "the question)</span> Remove this filter with <em>Search all dates</em> below "
                "the question, or set Published since/until."
            )
        notes.append(f"<p class='citeqa-filter'>{text}</p>")
    return "".join(notes)


def article_view(article: Any, text: str, cited: Sequence[Citation]) -> str:
    """One stored article, whole: title, date, source, URL (the only link) and its escaped text
    with the cited sentences in <mark> at their offsets (`text[start:end]`)."""
    url = safe_url(getattr(article, "url", "") or "")
    link = (
        f"<a class='citeqa-url' href='{html.escape(url, quote=True)}' target='_blank' "
        f"rel='noopener noreferrer nofollow'>{html.escape(plain(url))}</a>"
        if url
        else ""
    )
    published = getattr(article, "published", None)
    when = html.escape(day(published)) if published else "undated"
    source = plain(getattr(article, "source", "") or "").strip()
    parts, done = [], 0
    for c in sorted(cited, key=lambda x: x.start):
        if c.start < done or text[c.start : c.end] != c.sentence:
            continue  # overlapping or stale offsets: never mark a wrong span
        parts.append(html.escape(_FORMATTING.sub("", text[done : c.start])))
        parts.append(
            f"<mark class='citeqa-cited' data-n='{c.n}' title='[{c.n}]'>"
            + html.escape(_FORMATTING.sub("", text[c.start : c.end]))
            + "</mark>"
        )
        done = c.end
    parts.append(html.escape(_FORMATTING.sub("", text[done:])))
    aid = getattr(article, "id", cited[0].article_id if cited else "")
    return (
        f"<section class='citeqa-article' id='{article_anchor(aid)}' hidden>"
        f"<div class='citeqa-article-head'><strong>Article:</strong> "
        f"{_isolated(getattr(article, 'title', ''), TITLE_CHARS, 'citeqa-article-title')} "
        f"<span class='citeqa-article-date' style='unicode-bidi:isolate'>({when})</span>"
        + (f" · {_isolated(source, CELL_CHARS, 'citeqa-source-name')}" if source else "")
        + (f"<div class='citeqa-link'>{link}</div>" if link else "")
        + f"</div><div class='citeqa-text' style='{_ISOLATE};white-space:pre-wrap'>"
        + "".join(parts)
        + "</div></section>"
    )


def _isolated(text: str, limit: int, cls: str) -> str:
    """`text` cut to `limit`, isolated for bidi; the whole value as tooltip when cut."""
    shown = plain(text).strip()
    short = cut(shown, limit)
    tip = f" title='{html.escape(shown, quote=True)}'" if short != shown else ""
    return f"<span class='{cls}' style='{_ISOLATE}'{tip}>{html.escape(short)}</span>"


def _source_item(
    c: Citation,
    paragraph_of: Callable[[Citation], tuple[str, int, int]] | None,
    viewable: bool = False,
) -> str:
    title = _isolated(c.title, TITLE_CHARS, "citeqa-title")
    url = safe_url(c.url)
    heading = (
        f"<a href='{html.escape(url, quote=True)}' target='_blank' "
        f"rel='noopener noreferrer nofollow'>{title}</a>"
        if url
        else title
    )
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
    body = (
        html.escape(_FORMATTING.sub("", before))
        + "<mark class='citeqa-cited'>"
        + html.escape(_FORMATTING.sub("", paragraph[start:end]))
        + "</mark>"
        + html.escape(_FORMATTING.sub("", after))
    )
    dates = (
        "<p class='citeqa-dates'>Dates: "
        + "; ".join(html.escape(m.label()) for m in c.dates)
        + "</p>"
        if c.dates
        else ""
    )
    also = (
        "<p class='citeqa-also'>"
        + html.escape("A" + c.also_reported().removeprefix(" · a"))
        + "</p>"
        if c.also_in
        else ""
    )
    corrected = (
        f"<p class='citeqa-corrected'><strong>Corrected later:</strong> see [{c.corrected_by}]</p>"
        if getattr(c, "corrected_by", 0)
        else ""
    )
    dates += also + corrected
    opener = (
        f" <button type='button' class='citeqa-open' "
        f"aria-controls='{article_anchor(c.article_id)}'>Whole article</button>"
        if viewable
        else ""
    )
    return (
        f"<li class='citeqa-source' id='{cite_anchor(c)}' value='{c.n}'>"
        f"<div class='citeqa-head'><span class='citeqa-n'>[{c.n}]</span> {heading} "
        f"<span class='citeqa-date' style='unicode-bidi:isolate'>({when})</span></div>"
        f"<p class='citeqa-paragraph' style='{_ISOLATE}'>{body}</p>{dates}{opener}</li>"
    )


def articles_table(rows: Sequence) -> list[list[object]]:
    """The stored articles, every field whole (the /articles API)."""
    labels = story_labels(rows)
    return [
        [a.id, a.title, day(a.published), a.source, a.sentences, a.chunks, labels.get(a.id, "")]
        for a in rows
    ]


def articles_view(rows: Sequence) -> list[list[object]]:
    """The articles table as shown: titles and sources without controls and cut; near
    copies of one story share a "story n (k articles)" label."""
    labels = story_labels(rows)
    return [
        [
            a.id,
            cut(plain(a.title).strip(), CELL_CHARS),
            day(a.published),
            cut(plain(a.source).strip(), CELL_CHARS // 2),
            a.sentences,
            a.chunks,
            labels.get(a.id, ""),
        ]
        for a in rows
    ]


def listing_label(shown: int, total: int, matching: str = "", page: int = 0) -> str:
    """The articles table's label: how many it shows of how many, and how to find the rest."""
    if matching:
        found = f"{shown:,} stored article{'s' if shown != 1 else ''} matching “{FSI}"
        found += f"{cut(plain(matching).strip(), CELL_CHARS // 2)}{PDI}”"
        return found + (f", the newest {page:,} shown" if page and shown >= page else "")
    if shown < total:
        return f"Stored articles: the newest {shown:,} of {total:,} (find others above)"
    return f"Stored articles ({total:,})"


def listing_html(shown: int, total: int, matching: str = "", page: int = 0) -> str:
    """`listing_label` as the escaped line above the articles table."""
    return (
        f'<p class="citeqa-listing">{html.escape(listing_label(shown, total, matching, page))}</p>'
    )


def id_choices(rows: Sequence) -> list[tuple[str, str]]:
    """("id · title", id) pairs for a picker: the id first, the title cut and isolated."""
    return [(f"{a.id} · {FSI}{cut(plain(a.title).strip(), CELL_CHARS)}{PDI}", a.id) for a in rows]


def label_choices(values: Sequence[str]) -> list[tuple[str, str]]:
    """(shown, value) pairs for a picker of free text such as sources."""
    return [(cut(plain(v), CELL_CHARS), v) for v in values]


# the sources panel's own styles (gr.HTML css_template): a focused source, the article views
PANEL_CSS = """
.citeqa-focus { outline: 3px solid #e8a400; background: #fff8d6; }
.citeqa-article { border-top: 1px solid #ccc; margin-top: 1em; padding-top: .5em; }
.citeqa-article[hidden] { display: none; }
button.citeqa-open { font-size: .85em; text-decoration: underline; cursor: pointer; }
"""

CSS = """
.citeqa-sources { overflow-wrap: anywhere; }
.citeqa-sources mark.citeqa-cited { background: #fff3a3; padding: 0 2px; }
.citeqa-sources .citeqa-n { font-weight: 700; }
.citeqa-sources .citeqa-date { color: #666; }
.citeqa-sources li { margin-bottom: 0.8em; }
"""

# The panel's own script (gr.HTML js_on_load; `element` is the panel). Clicking a citation link
# in the chat brings its source into view and highlights it; a source's button opens or closes
# its article view. Only ids that citeqa generated are looked up; nothing is navigated to.
PANEL_JS = """
const focus = (el) => {
  element.querySelectorAll('.citeqa-focus').forEach((o) => o.classList.remove('citeqa-focus'));
  el.classList.add('citeqa-focus');
  el.scrollIntoView({block: 'nearest', behavior: 'instant'});
};
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest("a[href^='#citeqa-cite-']");
  if (!link || !link.closest('#citeqa-chat')) return;
  event.preventDefault();
  event.stopPropagation();
  const target = element.querySelector('#' + CSS.escape(link.getAttribute('href').slice(1)));
  if (target) focus(target);
}, true);
element.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('button.citeqa-open');
  if (!button) return;
  const view = element.querySelector('#' + CSS.escape(button.getAttribute('aria-controls')));
  if (!view) return;
  view.hidden = !view.hidden;
  button.setAttribute('aria-expanded', String(!view.hidden));
  if (!view.hidden) focus(view);
});
"""
