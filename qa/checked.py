"""LLM answers whose citations are checked before anyone sees them.

The reply is read sentence by sentence as it streams. In each sentence, `[n]` markers that
point at no evidence sentence are dropped, and the sentence must be supported by what it cites:
most of its content words (stemmed) and every number in it must occur in the cited evidence.
A sentence its markers do not support (or that has none) is attributed to the evidence sentence
that does support it, or removed: a model that follows instructions planted in an article can
not put an invented claim behind a real citation.
Links, URLs and images are stripped: the evidence holds none that the answer needs, and an
article must not be able to make the answer carry an outside address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pysbd

from qa.types import ABSTAIN_TEXT, Citation, Evidence, citation_from
from vectorstore.lexical import tokenize

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+"  # anything with a scheme, or www.
    r"|\b(?:[a-z0-9][a-z0-9-]*\.)+[a-z]{2,24}(?::\d+)?(?:/\S*)?",  # bare host names
    re.I,
)
_HTML_TAG = re.compile(r"<[^>]{0,200}>")
_TAG_OPEN = re.compile(r"<(?=\s*[a-z/!?])", re.I)
_WORD = re.compile(r"[a-z0-9]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
SUPPORT_THRESHOLD = 0.6  # share of a sentence's content words found in what it cites


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without markers
    numbers: tuple[int, ...]  # evidence numbers (1-based ranks), checked


def check_sentence(raw: str, evidence: Sequence[Evidence]) -> CheckedSentence | None:
    return judge_sentence(raw, evidence)[0]


def judge_sentence(raw: str, evidence: Sequence[Evidence]) -> tuple[CheckedSentence | None, str]:
    """The checked sentence (None: nothing is shown) and what the check did to it: "kept"
    (its own numbers support it), "moved" (its numbers did not: attributed to the evidence
    sentence that does), "attributed" (it had no valid number), "dropped" (nothing supports
    it) or "empty" (no words once markers and markup are gone). Sentences are not cut, not
    backed by two evidence sentences together and not by the article's title: each was
    measured to let invented claims through (bench/RESULTS.md "LLM mode")."""
    numbers: list[int] = []
    for group in _MARKER.findall(raw):
        for part in group.split(","):
            n = int(part)
            if 1 <= n <= len(evidence) and n not in numbers:
                numbers.append(n)
    text = _MARKER.sub("", raw)
    text = _HTML_TAG.sub("", text)  # before URLs: a URL's \S+ would take a tag's closing ">"
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _TAG_OPEN.sub("", text)  # an unclosed "<img ..." is left as words, never a tag
    text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    if not _WORD.search(text.lower()):
        return None, "empty"
    cited = [evidence[n - 1].sentence for n in numbers]
    if numbers and support(words_of(text), cited) is not None:
        return CheckedSentence(text, tuple(numbers)), "kept"
    best = best_support(text, evidence)
    if best is None:
        return None, "dropped"
    return CheckedSentence(text, (best,)), "moved" if numbers else "attributed"


def words_of(text: str) -> set[str]:
    """Stemmed content words; "9,600" and "9600" are one number."""
    return set(tokenize(_THOUSANDS.sub("", text)))


def support(words: set[str], cited: Sequence[str]) -> float | None:
    """Share of `words` (a sentence's tokens) found in `cited`; None if too low or a number
    is not there."""
    if not words:
        return None
    found = {w for sentence in cited for w in words_of(sentence)}
    if any(w.isdigit() and w not in found for w in words):
        return None
    share = len(words & found) / len(words)
    return share if share >= SUPPORT_THRESHOLD else None


def best_support(text: str, evidence: Sequence[Evidence]) -> int | None:
    """1-based number of the evidence sentence that supports `text` best, if any does."""
    words = words_of(text)
    shares = [(support(words, [e.sentence]) or 0.0, -n) for n, e in enumerate(evidence, start=1)]
    share, negative_n = max(shares, default=(0.0, 0))
    return -negative_n if share > 0 else None


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
        self.verdicts: list[tuple[str, str]] = []  # (judge_sentence's verdict, raw sentence)

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
                self.verdicts.append(("abstention", piece))
                continue
            sentence, verdict = judge_sentence(piece, self.evidence)
            self.verdicts.append((verdict, piece))
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
    deltas: Iterable[str], evidence: Sequence[Evidence], checker: ReplyChecker | None = None
) -> Iterator[tuple[str, tuple[Citation, ...], bool]]:
    """(text so far, citations, final?) after each completed, checked sentence; `checker`,
    if given, is the one used (its `verdicts` tell what happened to each sentence)."""
    checker = checker or ReplyChecker(evidence)
    for delta in deltas:
        if checker.feed(delta):
            yield (*render(checker.checked, evidence), False)
    checker.finish()
    yield (*render(checker.checked, evidence), True)


__all__ = [
    "ABSTAIN_TEXT",
    "ReplyChecker",
    "check_sentence",
    "judge_sentence",
    "render",
    "stream_checked",
]
