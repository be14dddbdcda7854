"""The offline answer: the evidence sentence that answers, verbatim, with its [n].

The best sentence always comes first and is always [1]. A second or third sentence is cited
only when
* the question asks for more than one fact: a list ("which areas…", "what were…", "who
  else…"), a reason ("why…") or a sequence ("what happened after…"); then the next evidence
  sentences scoring within MORE_MARGIN of the best follow, in article order; or
* the answering sentence refers back to a name the reader needs ("She added that…", "The firm
  said…", "Its chair, …") and the sentence before it in the same article holds a name: that
  sentence is cited too, right after the answer.

Before, a second and third sentence followed whenever they scored within 0.03 of the best,
whatever the question. Measured in one run each (citeqa eval; [1] is the same sentence either
way, so first-citation hit, hit@k and abstention do not move):
  SQuAD dev, 600 questions: citation precision 0.606 → 0.634, characters cited 192 → 179,
    answer recall 0.722 → 0.702 (the extra sentences sometimes held the answer string);
  samples/questions.jsonl: citation precision 0.725 → 0.691, characters cited 152 → 159 (the
    sentences naming who "She added…" is: cited on purpose, not counted as evidence).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from qa.corrections import corrected_fact
from qa.followup import names
from qa.types import Citation, Evidence, citation_from

MORE_MARGIN = 0.15
MAX_SENTENCES = 3
_BRACKETED_NUMBER = re.compile(r"\[(\d+)\]")
_ASKS_MORE = re.compile(
    r"^\W*(why\b|(which|what) (\w+ )?\w+s (are|were|have|had|did|do|will|would|could)\b|"
    r"which (areas|places|countries|people|companies|firms|teams|groups|towns|ones)\b|"
    r"what (are|were|else|other)\b|who (are|were|else)\b|what happened (after|next|then|"
    r"before|since)\b|what did \w+ do (after|next|then)\b|how did (it|this|that|they) "
    r"(happen|unfold|come about)\b|list\b|name (the|all)\b|in what order\b|"
    r"what (steps|reasons|measures|areas)\b)",
    re.IGNORECASE,
)
_REFERS_BACK = re.compile(
    r"^\W*(he|she|they|it|its|his|her|their|this|these|those|the (firm|company|group|"
    r"council|club|team|agency|court|bank|university|institute|authority|study|"
    r"organisation|organization|charity|operator|government|ministry|department|"
    r"statement|report|man|woman|pair|couple))\b",
    re.IGNORECASE,
)

Before = Callable[[Evidence], Evidence | None]


def quoted(sentence: str) -> str:
    """The sentence as shown in an answer: its own bracketed numbers (footnotes in the
    article) become (n), so every [n] in an answer is one of ours. The citation keeps the
    verbatim sentence."""
    return _BRACKETED_NUMBER.sub(r"(\1)", sentence)


def asks_for_more(question: str) -> bool:
    """A list, a reason or a sequence: more than one sentence may be needed."""
    return bool(_ASKS_MORE.search(question))


def refers_back(sentence: str) -> bool:
    """The sentence opens with a pronoun or "The firm…": its subject is named before it."""
    return bool(_REFERS_BACK.search(sentence))


def extractive_answer(
    evidence: Sequence[Evidence],
    question: str = "",
    before: Before | None = None,
    after: Before | None = None,
) -> tuple[str, tuple[Citation, ...]]:
    """The answer text and its citations. `before(e)`/`after(e)` give the sentence before/after
    `e` in its article (None at either end); without them no referent or corrected fact is
    added."""
    if not evidence:
        return "", ()
    best = evidence[0]
    chosen = [best]
    fact = corrected_fact(best, after) if after is not None else None
    if fact is not None:  # "Correction: an earlier version said…" → "It was completed in 1962."
        chosen = [replace(fact, score=best.score), best]
    elif before is not None and refers_back(best.sentence):
        referent = before(best)
        if referent is not None and names(referent.sentence):
            chosen.append(referent)
    if question and asks_for_more(question):
        keys = {(e.article_id, e.sentence_index) for e in chosen}
        extra = [
            e
            for e in evidence[1:]
            if (e.article_id, e.sentence_index) not in keys and best.score - e.score <= MORE_MARGIN
        ][: MAX_SENTENCES - len(chosen)]
        extra.sort(key=lambda e: (e.article_id != best.article_id, e.article_id, e.sentence_index))
        chosen += extra
    text = " ".join(f"{quoted(e.sentence)} [{n}]" for n, e in enumerate(chosen, start=1))
    return text, tuple(citation_from(e, n) for n, e in enumerate(chosen, start=1))


def disagreement_answer(best: Evidence, other: Evidence) -> tuple[str, tuple[Citation, ...]]:
    """Two sources giving different figures for the same thing: both cited, each with its
    source and date, and the answer says they differ (qa/reports.py finds them). The later
    report comes first, as figures are revised while a story develops (the better-ranked one
    first when both have the same date or either has none)."""
    later = (
        best.published is not None
        and other.published is not None
        and other.published > best.published
    )
    chosen = (other, best) if later else (best, other)

    def who(e: Evidence) -> str:
        when = e.published.date().isoformat() if e.published else "undated"
        return f"{e.source or e.title}, {when}"

    lines = [f"{who(e)}: {quoted(e.sentence)} [{n}]" for n, e in enumerate(chosen, start=1)]
    text = "Sources differ. " + " ".join(lines)
    return text, tuple(citation_from(e, n) for n, e in enumerate(chosen, start=1))
