"""The offline answer: the best evidence sentences, verbatim, each with its [n].

One sentence when it carries the answer; a second or third only when it scores almost as
well (within EXTRA_MARGIN of the best), shown in article order when they share an article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.types import Citation, Evidence, citation_from

EXTRA_MARGIN = 0.03
MAX_SENTENCES = 3
_BRACKETED_NUMBER = re.compile(r"\[(\d+)\]")


def quoted(sentence: str) -> str:
    """The sentence as shown in an answer: its own bracketed numbers (footnotes in the
    article) become (n), so every [n] in an answer is one of ours. The citation keeps the
    verbatim sentence."""
    return _BRACKETED_NUMBER.sub(r"(\1)", sentence)


def extractive_answer(evidence: Sequence[Evidence]) -> tuple[str, tuple[Citation, ...]]:
    if not evidence:
        return "", ()
    best = evidence[0].score
    chosen = [e for e in evidence[:MAX_SENTENCES] if best - e.score <= EXTRA_MARGIN]
    numbered = {id(e): n for n, e in enumerate(chosen, start=1)}
    same_article = len({e.article_id for e in chosen}) == 1
    reading = sorted(chosen, key=lambda e: e.sentence_index) if same_article else chosen
    text = " ".join(f"{quoted(e.sentence)} [{numbered[id(e)]}]" for e in reading)
    return text, tuple(citation_from(e, numbered[id(e)]) for e in chosen)
