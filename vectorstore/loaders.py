"""Files and folders to cleaned Articles; every failure is a LoadError naming file and reason."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vectorstore.cleaning import clean_text, markdown_to_text
from vectorstore.dates import parse_date
from vectorstore.htmltext import HtmlError, extract_html
from vectorstore.ids import article_id
from vectorstore.types import Article, LoadError

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")
TEXT_KEYS = ("text", "body", "content", "article", "maintext")
DATE_KEYS = ("published", "published_at", "date", "publish_date", "pubDate", "datePublished")
TITLE_KEYS = ("title", "headline")
SOURCE_KEYS = ("source", "site", "sitename", "publisher")
URL_KEYS = ("url", "link")
AUTHOR_KEYS = ("author", "authors", "byline")
MAX_JSON_DEPTH = 64


def find_files(
    paths: Iterable[str | Path], skipped: Counter[str] | None = None
) -> Iterator[Path | LoadError]:
    """Files under the given paths, folders recursively in sorted order; hidden files skipped.
    A folder's files of unsupported types are counted by type in `skipped` (".pdf", or
    "no extension"); a file named explicitly is always tried."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                hidden = any(p.startswith(".") for p in rel.parts)
                if not child.is_file() or hidden:
                    continue
                if child.suffix.lower() in SUPPORTED:
                    yield child
                elif skipped is not None:
                    skipped[child.suffix.lower() or "no extension"] += 1
        elif path.is_file():
            yield path
        else:
            yield LoadError(str(path), "no such file or folder")


def load_file(
    path: Path, *, date_order: str = "dmy", max_bytes: int = 20 * 1024 * 1024
) -> list[Article | LoadError]:
    """All articles one file holds; a JSONL line that fails does not sink its neighbours."""
    name = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        return [
            LoadError(
                name,
                f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}",
            )
        ]
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return [
                LoadError(
                    name,
                    f"file is {_size(size)}, over the {_size(max_bytes)} limit",
                )
            ]
        raw = path.read_bytes()
    except OSError as err:
        return [LoadError(name, f"cannot read file ({err.strerror or err})")]
    text = decode(raw, name)
    if isinstance(text, LoadError):
        return [text]
    if not text.strip():
        return [LoadError(name, "file is empty")]
    return parse_text(text, suffix, name, date_order=date_order)


def parse_text(
    text: str, suffix: str, origin: str, *, date_order: str = "dmy"
) -> list[Article | LoadError]:
    """Parse decoded file content by its extension."""
    if suffix in (".json", ".jsonl"):
        return _parse_json(text, suffix, origin, date_order)
    try:
        if suffix in (".html", ".htm"):
            page = extract_html(text)
            fields = {
                "title": page.title,
                "text": page.body,
                "published": page.published,
                "author": page.author,
                "source": page.source,
                "url": page.url,
            }
            return [_article(fields, origin, date_order, clean=False, html=True)]
        if suffix in (".md", ".markdown"):
            text = markdown_to_text(text)
        return [_article({"text": text}, origin, date_order, clean=True)]
    except (HtmlError, ValueError) as err:
        return [LoadError(origin, str(err))]


def decode(raw: bytes, origin: str) -> str | LoadError:
    """UTF-8 (with or without BOM), else UTF-16 with BOM; binary content is refused."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            return LoadError(origin, "invalid UTF-16 text")
    sample = raw[:8192]
    if b"\x00" in sample:
        return LoadError(origin, "binary file (contains NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        controls = sum(b < 9 or 13 < b < 32 for b in sample)
        if controls > len(sample) // 100:
            return LoadError(origin, "binary file, not text")
        return LoadError(origin, f"not valid UTF-8 (byte {err.start}); save the file as UTF-8")


def _parse_json(text: str, suffix: str, origin: str, date_order: str) -> list[Article | LoadError]:
    records: list[tuple[str, Any]] = []
    if suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((f"{origin}:{number}", json.loads(line, parse_int=_json_int)))
            except (json.JSONDecodeError, RecursionError) as err:
                records.append((f"{origin}:{number}", _json_error(err, in_line=True)))
    else:
        try:
            value = json.loads(text, parse_int=_json_int)
        except (json.JSONDecodeError, RecursionError) as err:
            return [LoadError(origin, _json_error(err))]
        if isinstance(value, list):
            records = [(f"{origin}:[{i}]", item) for i, item in enumerate(value)]
        else:
            records = [(origin, value)]
        if not records:
            return [LoadError(origin, "JSON list is empty")]
    out: list[Article | LoadError] = []
    for where, record in records:
        if isinstance(record, str) and record.startswith("invalid JSON"):
            out.append(LoadError(where, record))
        elif not isinstance(record, dict):
            out.append(LoadError(where, f"expected a JSON object, got {type(record).__name__}"))
        else:
            try:
                out.append(_article(record, where, date_order, clean=False))
            except ValueError as err:
                out.append(LoadError(where, str(err)))
    return out


def _json_int(digits: str) -> int | float:
    """An integer; one too long for int() (over 4,300 digits) overflows to ±inf as floats do."""
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def _json_error(err: Exception, in_line: bool = False) -> str:
    if isinstance(err, json.JSONDecodeError):
        where = f"column {err.colno}" if in_line else f"line {err.lineno}, column {err.colno}"
        return f"invalid JSON at {where}: {err.msg}"
    return "invalid JSON: nested too deeply"


def _field(record: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, "", []):
            return value
    return None


# Control characters (NUL, ESC, C1) carry no text and would reach terminals and pages as
# escape sequences; tabs and line breaks stay. Removed from every field, the text included:
# explicit bidi formatting (embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069),
# which reorders everything after it on screen (a cited sentence could show reversed, or
# reverse the citation marks after it), and the zero-width spaces U+200B, U+2060, U+FEFF,
# which only hide. Removing them before the text is split keeps every citation verbatim
# `text[start:end]`. The text keeps the joiners U+200C/U+200D (Persian and Indic spelling,
# emoji) and the marks U+200E/U+200F/U+061C (mixed-direction text): they are part of how the
# text reads and cannot reorder beyond their neighbours.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]"
)
# titles, sources and authors are shown as labels, beside ids and dates: every bidi and
# zero-width control goes (marks, joiners, invisible operators too)
_INVISIBLE = re.compile("[\u061c\u180e\u200b-\u200f\u2060-\u2064\u202a-\u202e\u2066-\u2069\ufeff]")


def _as_text(value: Any, field: str) -> str:
    """A metadata field as one line of text, without control or invisible characters."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(p for p in (_as_text(v, field) for v in value if v is not None) if p)
    if isinstance(value, dict):
        return _as_text(value.get("name"), field)
    if isinstance(value, str | int | float):
        return _INVISIBLE.sub("", _CONTROL.sub("", str(value))).strip()
    raise ValueError(f"field {field!r} has an unusable value of type {type(value).__name__}")


def _article(
    record: dict[str, Any], origin: str, date_order: str, *, clean: bool, html: bool = False
) -> Article:
    body_value = _field(record, TEXT_KEYS)
    if body_value is None:
        raise ValueError(f"no article text (looked for {', '.join(TEXT_KEYS)})")
    if not isinstance(body_value, str):
        raise ValueError(f"field 'text' must be a string, got {type(body_value).__name__}")
    body_value = _CONTROL.sub("", body_value)
    title = _as_text(_field(record, TITLE_KEYS), "title")
    fields = {
        "published": _field(record, DATE_KEYS),
        "source": _as_text(_field(record, SOURCE_KEYS), "source"),
        "url": _as_text(_field(record, URL_KEYS), "url"),
        "author": _as_text(_field(record, AUTHOR_KEYS), "author"),
    }
    if clean or html or "\n" in body_value:
        cleaned = clean_text(body_value if not title else f"{title}\n\n{body_value}")
        body, title = cleaned.body, title or cleaned.title
        for key in ("published", "source", "url", "author"):
            fields[key] = fields[key] or getattr(cleaned, key)
    else:
        body = body_value.strip()
    if not body.strip():
        raise ValueError("no article text left after removing page boilerplate")
    _check_unicode(
        text=body,
        title=title,
        source=str(fields["source"] or ""),
        url=str(fields["url"] or ""),
        author=str(fields["author"] or ""),
    )
    published = parse_date(fields["published"], date_order)
    return Article(
        id=article_id(body),
        title=_as_text(title, "title") or _as_text(_fallback_title(body), "title"),
        text=body,
        published=published,
        source=_as_text(fields["source"] or "", "source"),
        url=str(fields["url"] or ""),
        author=_as_text(fields["author"] or "", "author"),
        origin=origin,
    )


def _check_unicode(**fields: str) -> None:
    """JSON escapes can make lone UTF-16 surrogates, which no store can encode: refuse them."""
    for name, value in fields.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError(
                f"field {name!r} holds a lone surrogate {value[err.start]!r}, not valid Unicode"
            ) from None


def _fallback_title(body: str) -> str:
    first = body.strip().split("\n", 1)[0]
    return first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "…"


def _size(n: int) -> str:
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"
