"""Sentence splitting with offsets into the stored text (pysbd does the linguistics).

Paragraph and line breaks are hard boundaries; inside a line pysbd decides, which keeps
"U.S.", "Dr.", "Jan. 5", "3.5", initials and quoted sentences whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import pysbd

from vectorstore.types import Sentence

_LINE = re.compile(r"[^\n]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_MAX_SEGMENT = 4000  # pysbd slows down sharply on very long runs of text
_ROUGH_BREAK = re.compile(r"(?<=[.!?])\s+(?=\S)")


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def split_sentences(text: str, article_id: str = "", language: str = "en") -> list[Sentence]:
    """Sentences of `text`, each with `text[start:end] == sentence.text` and no edge spaces."""
    paragraph_starts = [0, *(m.end() for m in _PARAGRAPH_BREAK.finditer(text))]
    sentences: list[Sentence] = []
    paragraph = 0
    for line in _LINE.finditer(text):
        while (
            paragraph + 1 < len(paragraph_starts)
            and paragraph_starts[paragraph + 1] <= line.start()
        ):
            paragraph += 1
        for start, end in _spans(line.group(), language):
            sentences.append(
                Sentence(
                    article_id=article_id,
                    index=len(sentences),
                    text=text[line.start() + start : line.start() + end],
                    start=line.start() + start,
                    end=line.start() + end,
                    paragraph=paragraph,
                )
            )
    return sentences


def _segment(text: str, language: str) -> list[str]:
    """pysbd's sentences without `Segmenter.segment`'s own span search.

    `segment()` re-finds every sentence with a freshly compiled regex scanned from the start of
    the text (quadratic, and 40 % of pysbd's time here); `_locate` below does that job in
    linear time with str.find, so only the processor is run.
    """
    if not text:
        return []
    return [str(sentence) for sentence in _segmenter(language).processor(text).process()]


def _spans(line: str, language: str) -> Iterator[tuple[int, int]]:
    for piece_start, piece in _pieces(line):
        cursor = 0
        for raw in _segment(piece, language):
            found = _locate(piece, raw.strip(), cursor)
            if found is None:
                continue
            start, end = found
            cursor = end
            yield piece_start + start, piece_start + end
        rest = piece[cursor:]
        if rest.strip():  # pysbd dropped or altered the tail: keep it, never lose text
            lead = len(rest) - len(rest.lstrip())
            yield piece_start + cursor + lead, piece_start + len(piece.rstrip())


def _locate(piece: str, sentence: str, cursor: int) -> tuple[int, int] | None:
    if not sentence:
        return None
    at = piece.find(sentence, cursor)
    if at < 0 or piece[cursor:at].strip():
        return None
    return at, at + len(sentence)


def _pieces(line: str) -> Iterator[tuple[int, str]]:
    """Very long lines are cut at sentence punctuation first, so pysbd stays fast."""
    if len(line) <= _MAX_SEGMENT:
        yield 0, line
        return
    start = 0
    while start < len(line):
        end = min(len(line), start + _MAX_SEGMENT)
        if end < len(line):
            breaks = [m.start() for m in _ROUGH_BREAK.finditer(line, start + 1, end)]
            end = breaks[-1] if breaks else end
        yield start, line[start:end]
        start = end
