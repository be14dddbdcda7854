"""LLM answers whose citations are checked before anyone sees them.

The reply is read sentence by sentence as it streams. In each sentence, `[n]` markers that
point at no evidence sentence are dropped; a sentence left with no valid marker is attributed
to the evidence sentence that shares most of its words, or removed when none supports it.
Links, URLs and images are stripped: the evidence holds none that the answer needs, and an
article must not be able to make the answer carry an outside address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pysbd

from qa.types import ABSTAIN_TEXT, Citation, Evidence, citation_from

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+"  # anything with a scheme, or www.
    r"|\b(?:[a-z0-9][a-z0-9-]*\.)+[a-z]{2,24}(?::\d+)?(?:/\S*)?",  # bare host names
    re.I,
)
_HTML_TAG = re.compile(r"<[^>]{0,200}>")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "the a an of to in on at for and or but is are was were be by with as that this it its "
    "from has have had said says will would".split()
)
SUPPORT_THRESHOLD = 0.5


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without markers
    numbers: tuple[int, ...]  # evidence numbers (1-based ranks), checked


def check_sentence(raw: str, evidence: Sequence[Evidence]) -> CheckedSentence | None:
    numbers: list[int] = []
    for group in _MARKER.findall(raw):
        for part in group.split(","):
            n = int(part)
            if 1 <= n <= len(evidence) and n not in numbers:
                numbers.append(n)
    text = _MARKER.sub("", raw)
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _HTML_TAG.sub("", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    if not _WORD.search(text.lower()):
        return None
    if not numbers:
        best = best_support(text, evidence)
        if best is None:
            return None
        numbers = [best]
    return CheckedSentence(text, tuple(numbers))


def best_support(text: str, evidence: Sequence[Evidence]) -> int | None:
    """1-based number of the evidence sentence sharing most content words, if enough."""
    words = {w for w in _WORD.findall(text.lower()) if w not in _STOP}
    if not words:
        return None
    best, best_share = None, 0.0
    for n, e in enumerate(evidence, start=1):
        share = len(words & set(_WORD.findall(e.sentence.lower()))) / len(words)
        if share > best_share:
            best, best_share = n, share
    return best if best_share >= SUPPORT_THRESHOLD else None


def is_abstention(text: str) -> bool:
    return "could not find this in the articles" in text.lower()


class ReplyChecker:
    """Feed streamed text; get back checked sentences as soon as each one is complete."""

    def __init__(self, evidence: Sequence[Evidence]):
        self.evidence = evidence
        self.buffer = ""
        self.checked: list[CheckedSentence] = []
        self.raw = ""
        self._segmenter = pysbd.Segmenter(language="en", clean=False)

    def feed(self, delta: str) -> list[CheckedSentence]:
        self.buffer += delta
        self.raw += delta
        pieces = self._segmenter.segment(self.buffer) if self.buffer.strip() else []
        if len(pieces) < 2:
            return []
        complete, self.buffer = pieces[:-1], pieces[-1]
        return self._check(complete)

    def finish(self) -> list[CheckedSentence]:
        pieces = self._segmenter.segment(self.buffer) if self.buffer.strip() else []
        self.buffer = ""
        return self._check(pieces)

    def _check(self, pieces: Iterable[str]) -> list[CheckedSentence]:
        out = []
        for piece in pieces:
            # a marker that pysbd left at the start belongs to the previous sentence
            lead = re.match(r"^\s*((?:\[\d+(?:\s*,\s*\d+)*\]\s*)+)", piece)
            if lead and self.checked:
                extra = check_sentence(f"x {lead.group(1)}", self.evidence)
                if extra:
                    last = self.checked[-1]
                    merged = tuple(dict.fromkeys((*last.numbers, *extra.numbers)))
                    self.checked[-1] = CheckedSentence(last.text, merged)
                piece = piece[lead.end() :]
            if is_abstention(piece):
                continue
            sentence = check_sentence(piece, self.evidence)
            if sentence:
                self.checked.append(sentence)
                out.append(sentence)
        return out


def render(
    checked: Sequence[CheckedSentence], evidence: Sequence[Evidence]
) -> tuple[str, tuple[Citation, ...]]:
    """Final text with citations renumbered 1.. in evidence-strength order."""
    used = sorted({n for s in checked for n in s.numbers})
    renumber = {old: new for new, old in enumerate(used, start=1)}
    text = " ".join(
        f"{s.text} {''.join(f'[{renumber[n]}]' for n in sorted(s.numbers))}" for s in checked
    )
    citations = tuple(citation_from(evidence[old - 1], new) for old, new in renumber.items())
    return text, citations


def stream_checked(
    deltas: Iterable[str], evidence: Sequence[Evidence]
) -> Iterator[tuple[str, tuple[Citation, ...], bool]]:
    """(text so far, citations, final?) after each completed, checked sentence."""
    checker = ReplyChecker(evidence)
    for delta in deltas:
        if checker.feed(delta):
            yield (*render(checker.checked, evidence), False)
    checker.finish()
    yield (*render(checker.checked, evidence), True)


__all__ = ["ABSTAIN_TEXT", "ReplyChecker", "check_sentence", "render", "stream_checked"]
