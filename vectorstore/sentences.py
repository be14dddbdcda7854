"""Sentence splitting with offsets into the stored text (pysbd does the linguistics).

Paragraph and line breaks are hard boundaries; inside a line pysbd decides, which keeps
"U.S.", "Dr.", "Jan. 5", "3.5", initials and quoted sentences whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pysbd
from pysbd.lang.english import English

from vectorstore.types import Sentence

_LINE = re.compile(r"[^\n]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_MAX_SEGMENT = 4000  # pysbd slows down sharply on very long runs of text
_ROUGH_BREAK = re.compile(r"(?<=[.!?])\s+(?=\S)")


# A word directly after a space (or at the start) and directly before a period: the only places
# where pysbd's abbreviation pass can change anything.
_WORD_BEFORE_PERIOD = re.compile(r"(?:^|(?<=\s))([^\s.]+)\.")


# pysbd's English abbreviations: plain words are tried only where they stand before a period;
# those with periods of their own ("e.g", "u.s") are always tried.
_ALL_ABBREVIATIONS: list[str] = list(English.Abbreviation.ABBREVIATIONS)
_PLAIN_ABBREVIATIONS = [a for a in _ALL_ABBREVIATIONS if a.isascii() and a.isalnum()]
_ALWAYS_TRIED = [a for a in _ALL_ABBREVIATIONS if a not in _PLAIN_ABBREVIATIONS]


class _Abbreviations:
    """pysbd's abbreviation list narrowed to one line's candidates; everything else delegated."""

    def __init__(self, base: type, abbreviations: list[str]):
        self._base = base
        self.ABBREVIATIONS = abbreviations

    def __getattr__(self, name: str) -> object:
        return getattr(self._base, name)


class _LanguageView:
    """A pysbd language whose `Abbreviation` is an `_Abbreviations`."""

    def __init__(self, language: type, abbreviation: _Abbreviations):
        self._language = language
        self.Abbreviation = abbreviation

    def __getattr__(self, name: str) -> object:
        return getattr(self._language, name)


class _NarrowedAbbreviationReplacer(English.AbbreviationReplacer):
    """pysbd's English abbreviation pass, run only for abbreviations that can apply.

    pysbd tries each of its ~190 abbreviations on every line (a substring test, then regex
    scans for every word that merely starts with it): 70 % of splitting time on news text.
    Every replacement it can make needs "<space>abbreviation." in the line, so a plain
    abbreviation that never stands between a space and a period is skipped; ones with their
    own periods ("e.g", "u.s") always run. Lines with non-ASCII words before a period run the
    full list (regex case folding is wider than str.lower). The output is pysbd's own, tested
    against the unnarrowed pass (tests/test_sentences.py).
    """

    def search_for_abbreviations_in_string(self, text: str) -> str:
        words = {m.group(1) for m in _WORD_BEFORE_PERIOD.finditer(text)}
        if all(word.isascii() for word in words):
            lowered = {word.lower() for word in words}
            narrowed = [*_ALWAYS_TRIED, *(a for a in _PLAIN_ABBREVIATIONS if a in lowered)]
            language: Any = getattr(self, "lang")  # noqa: B009 (untyped in pysbd)
            self.lang = _LanguageView(language, _Abbreviations(language.Abbreviation, narrowed))
            try:
                return str(super().search_for_abbreviations_in_string(text))
            finally:
                self.lang = language
        return str(super().search_for_abbreviations_in_string(text))


class _NarrowedEnglish(English):
    AbbreviationReplacer = _NarrowedAbbreviationReplacer


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    segmenter = pysbd.Segmenter(language=language, clean=False)
    if segmenter.language_module is English:
        segmenter.language_module = _NarrowedEnglish
    return segmenter


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
