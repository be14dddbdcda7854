"""What kind of answer a question asks for, and whether a sentence could hold one.

"How much…", "when…", "who…" each expect a number, a date or a name. A sentence that holds
no such thing rarely answers the question; the bonus is small so it reorders near-ties only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_MONTHS = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|"
    r"sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)"
)
_UNITS = (
    r"(%|per ?cent|percent|million|billion|thousand|mm|cm|km|kg|mph|millimetres?|centimetres?|"
    r"metres?|kilometres?|miles?|feet|inches|tonnes?|tons?|kilograms?|grams?|litres?|gallons?|"
    r"hectares?|acres?|square|degrees?|pounds|dollars|euros)"
)
# a word: letters and digits (qa.search.headline reads questions and titles with it too)
WORDS = re.compile(r"[^\W_]+")
# Words that ask without saying about what ("Why?", "Who said so?", "What happened?"): a
# question's content is what is left without them (qa.followup, qa.search.headline)
ASKING_WORDS = frozenset(
    "what when where who whom why how which else more about happen happened say said tell told "
    "mean meant do did so then".split()
)
# "Which judge…", "what scientist…": a question that names the role it asks about asks for a person
_PEOPLE = (
    r"(judge|barrister|lawyer|attorney|solicitor|prosecutor|defendant|witness|officer|official|"
    r"spokes(man|woman|person)|minister|president|chancellor|mayor|governor|senator|"
    r"councill?or|leader|chair(man|woman|person)?|chief|director|manager|coach|captain|player|"
    r"striker|defender|goalkeeper|referee|scientist|researcher|professor|doctor|engineer|"
    r"architect|author|writer|journalist|reporter|actor|actress|singer|artist|founder|owner|"
    r"executive|investor|member|person|man|woman|boy|girl|victim|suspect)s?"
)
# a role that names a person in the question itself: "their goalkeeper, where's she on loan from?"
PERSON_ROLE = re.compile(rf"\b{_PEOPLE}\b", re.I)
# Refinements of "number" tried first: news gives an age as "Calloway, 44," or "aged 44" and an
# amount with its unit or currency; any digit ("the wettest January in 30 years") is too weak.
_KINDS = {
    "age": (
        re.compile(r"^\s*(how old|what age|at what age)\b", re.I),
        re.compile(r"(\b[A-Z][\w'-]+,\s+\d{1,3},|\baged\s+\d{1,3}\b|\b\d{1,3}-year-old\b)"),
    ),
    "amount": (
        re.compile(r"^\s*how much\b", re.I),
        re.compile(rf"([£$€¥]\s?\d|\d[\d,.]*\s*-?\s*{_UNITS}\b)", re.I),
    ),
    # "How fast does it grow?" wants a rate ("doubled its biomass every 31 hours"), not any
    # figure ("a yield of 3.1 grams per litre after 14 days")
    "speed": (
        re.compile(
            r"^\s*(how (fast|quickly|rapidly|slowly|often|frequently)|"
            r"at what (rate|speed|pace)|what (speed|pace))\b",
            re.I,
        ),
        re.compile(
            r"(\b(per|a|an|each|every) (second|minute|hour|day|week|fortnight|month|year)\b|"
            r"\bevery (\d[\d.,]*|few|two|three|four|five|six|ten|twelve) "
            r"(seconds|minutes|hours|days|weeks|months|years)\b|"
            r"\d\s*(mph|km/h|kph|knots|m/s)\b|\b(doubl|tripl)\w*|"
            r"\btimes (faster|quicker|slower|as fast|as quickly)\b|"
            r"\b(hourly|daily|weekly|monthly|annually|yearly)\b)",
            re.I,
        ),
    ),
    "date": (
        re.compile(
            r"^\s*(when|((in|during|by) )?(what|which) (year|date|day|month|time|decade|century)|"
            r"how long ago|since when)\b",
            re.I,
        ),
        re.compile(
            rf"\b(1[0-9]{{3}}|20[0-9]{{2}}|{_MONTHS}|\d{{1,2}}(st|nd|rd|th)|"
            r"(mon|tues|wednes|thurs|fri|satur|sun)day|century|decade|years?|"
            r"today|yesterday|morning|evening|a\.m\.|p\.m\.)\b",
            re.I,
        ),
    ),
    # tried after the refinements above, so it holds only what they do not ask ("how much",
    # "how old", "how fast", "at what age/rate" are theirs)
    "number": (
        re.compile(
            r"^\s*(how (many|long|far|big|large|high|tall|deep|strong|heavy|hot|cold|warm|wide|"
            r"wet|low|steep|severe|powerful)|"
            r"what (percentage|percent|proportion|share|number|amount|size))\b",
            re.I,
        ),
        re.compile(
            r"(\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
            r"twelve|dozen|hundred|thousand|million|billion|half|twice)\b)",
            re.I,
        ),
    ),
    "person": (
        re.compile(rf"^\s*(who|whom|whose|(which|what) ([\w'-]+ ){{0,2}}{_PEOPLE})\b", re.I),
        re.compile(r"\b[A-Z][a-z]+(\s+[A-Z][a-z.'-]+)+"),
    ),
}


NUMBER_KINDS = frozenset({"number", "age", "amount", "speed"})

# Two more kinds for the follow-up ranking only (qa.followup), where a short question inside a
# chosen article is answered by the sentence that *does* what it asks: "What is it called?" by
# the sentence that names it ("which the researchers have named Nivalia…"), not by "called the
# results promising"; "Why…?" by one that gives a reason ("after the wettest January…, so…").
# The first-question search leaves them out: its features were weighed without them.
_FOLLOW_UP_KINDS = {
    "name": (
        re.compile(
            r"^\s*what(?:'s|\s+(?:is|was|are|were))\s+(?:it|this|that|they|these|those)\s+"
            r"(?:called|named|known as)\b|^\s*what(?:'s|\s+(?:is|was|are|were))\s+(?:its|their)\s+"
            r"names?\b",
            re.I,
        ),
        re.compile(r"\b(?:called|named|dubbed|christened|known as)\s+(?:the\s+)?[\"“‘']?[A-Z]"),
    ),
    "reason": (
        re.compile(r"^\s*(?:why\b|what (?:caused|made|led to)\b|how come\b)", re.I),
        re.compile(
            r"\b(?:because|so|since|after|due to|owing to|as a result|caused|led to|thanks to|"
            r"blamed)\b",
            re.I,
        ),
    ),
}


_WITH_FOLLOW_UP_KINDS = {**_FOLLOW_UP_KINDS, **_KINDS}


def expected_kind(question: str, follow_up: bool = False) -> str | None:
    """The kind of answer `question` asks for; with `follow_up`, also "name" and "reason"."""
    for kind, (asks, _) in (_WITH_FOLLOW_UP_KINDS if follow_up else _KINDS).items():
        if asks.search(question):
            return kind
    return None


# A capitalised name with one of these words names a body or a place, not a person: "Who
# chairs the traders association?" is not answered by "The Marrowby Traders Association said…".
ORGANISATION = re.compile(
    r"\b(Association|Agency|Bank|Bay|Bridge|Capital|Centre|Club|College|Committee|Company|"
    r"Cooperative|Council|Court|Cup|Department|Fund|Group|Institute|League|Ltd|Lane|Ministry|"
    r"Party|Power|Road|School|Shield|Sound|Stadium|Street|Trains|Trust|University|Union)\b"
)


# An extractive answer's best few sentences are reordered with this much for holding the kind
# of answer asked for (qa/assistant.py); the ranker itself weighs it at 0.05, as its features
# were weighed. 0.1 / 0.2 / 0.3: SQuAD dev first citation 0.7531 / 0.7541 / 0.7537 (0.7523
# without), NewsQA dev 0.454 at each (0.452); bench/RESULTS.md.
REORDER_WEIGHT = 0.2


def holds_kind(sentence: str, kind: str | None, question: str | None = None) -> bool:
    """Whether `sentence` could hold the kind of answer asked for. For "who", with the
    `question`: a name the question does not already hold (half its words or more), which may
    be a body's ("Who objects to the plan?" → "The Selwick Sound Fishermen's Cooperative
    said…") unless the question asks for a role ("Which judge sentenced Gerald Fenwick?" is
    not answered by "Gerald Fenwick, 58, of Mill Lane…"). Without it, any name that is not a
    body's (the ranker's feature, as it was weighed)."""
    if kind is None:
        return True
    if kind == "person":
        return any(_answers_who(m.group(0), question) for m in _KINDS[kind][1].finditer(sentence))
    return bool(_WITH_FOLLOW_UP_KINDS[kind][1].search(sentence))


def _answers_who(name: str, question: str | None) -> bool:
    body = bool(ORGANISATION.search(name))
    if question is None:
        return not body
    words = WORDS.findall(name.lower())
    asked = set(WORDS.findall(question.lower()))
    if 2 * sum(w in asked for w in words) >= len(words):
        return False  # the question names it: "the Marrowby Traders Association", "Fenwick"
    return not (body and PERSON_ROLE.search(question))


def kinds_held(question: str, sentences: Sequence[str]) -> list[bool]:
    """For each sentence, whether it holds the kind of answer `question` asks for (all False
    when it asks for none: nothing to prefer)."""
    kind = expected_kind(question)
    if kind is None:
        return [False] * len(sentences)
    return [holds_kind(s, kind, question) for s in sentences]
