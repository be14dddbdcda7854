"""Follow-up questions: a conversation that holds its thread.

A question asked after others is answered in the conversation's context (`Context`): the
*focus* articles (those the last FOCUS_TURNS answered turns cited) and what the last answers
said (their [1] sentence, the people named in it, the focus articles' titles).

* The context is rebuilt from the history alone. Each previous user question is replayed
  through the same steps as when it was asked (the last REPLAY_TURNS of them, cached, so a chat
  pays for one replay per turn); when an assistant message carries its `citations` (or a pair
  holds an `Answer`), the articles it cited are the focus instead. Pairs, {"role", "content"}
  messages and Gradio's message parts give the same answers; so do the chat (which sends only
  the questions), the CLI's `--history` and the library.
* Two searches compete (`FollowUps.search`): the question asked on its own over the whole
  collection, exactly as a first question is searched, and the focus articles, whose sentences
  are ranked by `rank_focus` (the question's own meaning, with the previous question as
  context, its exact words and the kind of answer it asks for). The focus wins unless the
  question stands on its own (no pronoun, three content words or more) and the collection
  answers it confidently from another article, FOCUS_MARGIN more confidently than the focus:
  that is how a conversation changes subject. Such a question is then answered as a first
  question is (searched with alignment, its best sentences reordered by the reader and the
  rest): it stands on its own, so what a follow-up's own words lack does not apply.
* A focus answer's confidence is the focus search's confidence for the question plus
  FOCUS_RELIEF: the conversation has already shown the article is relevant, so a short
  question whose words are not in the sentence ("When was it approved?" → "voted on Thursday
  evening") is not abstained on; a question about something else entirely still is.
* Pronouns: he/she/his/her bring the people named in the last answer into the question's own
  query; a bare "Why?" or "Who said so?" is searched with the last answer's sentence.
* With an LLM, the condense prompt (prompts/condense.txt) gets the history and the same context
  (focus titles, subject, last answer) and writes the standalone question, which is then
  searched both ways as above.
* `Answer.search_query` is what was searched: the question itself when it stands alone, else
  "previous question + question" (the context the focus ranking reads), or the LLM's rewrite.
* A first question (no history) is searched exactly as before: no context, one search.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from qa.answer_type import ASKING_WORDS, ORGANISATION, PERSON_ROLE, expected_kind, holds_kind
from qa.filters import Filters
from qa.search.evidence import is_lead_in
from qa.types import Evidence
from vectorstore.lexical import tokenize

if TYPE_CHECKING:
    from qa.search import SearchResult
    from vectorstore.embed import Embedder
    from vectorstore.store import ArticleStore

_LEANING = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|him|his|she|her|there|then|"
    r"the same|the former|the latter)\b",
    re.IGNORECASE,
)
_PERSONAL = re.compile(r"\b(he|him|his|she|her|hers)\b", re.IGNORECASE)
_POINTING = re.compile(r"\b(it|its|them|they|their|this|that|these|those)\b", re.IGNORECASE)
_CONTENT = re.compile(r"[A-Za-z0-9]{3,}")
_QUESTION_WORDS = {
    "what",
    "when",
    "where",
    "who",
    "whom",
    "why",
    "how",
    "which",
    "did",
    "does",
    "was",
    "were",
    "is",
    "are",
    "the",
    "and",
    "about",
    "any",
}
# A name: capitalised words, joined by "&", "of", "de", "der", "von", "van" or a hyphen.
_WORD = r"(?:(?:Dr|Ms|Mr|Mrs|Prof|St)\.|[A-Z][\w'’.-]*\w|[A-Z])"
_NAME = re.compile(rf"(?<![\w']){_WORD}(?:\s+(?:&\s+|(?:of|de|der|von|van|du|la|le)\s+)?{_WORD})*")
_TITLES = {"dr", "dr.", "ms", "ms.", "mr", "mr.", "mrs", "mrs.", "prof", "prof.", "st", "st."}
_NOT_NAMES = {
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "how", "i", "if", "in", "is",
    "it", "its", "of", "on", "or", "so", "that", "the", "their", "then", "there", "these",
    "they", "this", "those", "to", "was", "we", "were", "what", "when", "where", "which",
    "who", "whom", "whose", "why", "will", "with", "he", "she", "his", "her", "our", "my",
    "did", "does", "do", "has", "have", "had", "are", "can", "could", "would", "should",
    "after", "before", "since", "once", "during", "while", "also", "not", "no", "yes",
    "chief", "former", "said", "says", "according", "tell", "give", "list",
}  # fmt: skip

# Added to a focus answer's confidence: the conversation already chose the article. On
# samples/conversations.jsonl, 0.3 / 0.4 / 0.5 abstain on 11 % / 7 % / 1 % of the answerable
# follow-ups and on 1 / 1 / 0 of its 7 unanswerable ones (0.2: 18 % and 4 of 7).
FOCUS_RELIEF = 0.5
# The focus ranking: cos(question) + W_CONTEXT·cos(previous question + question)
# + W_BM25·BM25(question) / best + W_KIND·(holds the kind of answer asked for).
W_CONTEXT = 0.3
W_BM25 = 0.1
W_KIND = 0.2
# A headline sums up its article's lead: a question's words that the focus article's title
# holds and none of its sentences do ("When was it approved?" after "Marrowby council approves
# …"; the lead says "voted") point at the lead sentence, which gets W_HEADLINE.
W_HEADLINE = 0.2
# Words that ask without saying about what: a question made of these alone ("Why?", "Who said
# so?") is about the last answer, and is searched with its sentence.
_ASKING = frozenset(tokenize(" ".join(sorted(ASKING_WORDS))))
FOCUS_MARGIN = 0.1  # the global evidence must be this much more confident to leave the focus
FOCUS_TURNS = 3  # answered turns whose articles are the focus
REPLAY_TURNS = 4  # previous user questions replayed to rebuild the context


def message_text(content: Any) -> str:
    """Text of a chat message's content: a string, or a list of parts such as Gradio's
    [{"type": "text", "text": ...}]."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return message_text(content.get("text") or content.get("content") or "")
    if isinstance(content, list | tuple):
        return " ".join(t for t in (message_text(part) for part in content) if t)
    return ""


def user_turns(history: Sequence[Any] | None) -> list[str]:
    """User messages from history given as pairs, or as {"role", "content"} messages."""
    turns: list[str] = []
    for item in history or []:
        if isinstance(item, dict):
            text = message_text(item.get("content"))
            if item.get("role") == "user" and text:
                turns.append(text)
        elif isinstance(item, list | tuple) and item and isinstance(item[0], str):
            turns.append(item[0])
        elif isinstance(item, str):
            turns.append(item)
    return turns


@dataclass(frozen=True)
class PriorTurn:
    """One previous user question, and the articles its answer cited when the history says
    (an assistant message's `citations`, or an `Answer` as the second item of a pair)."""

    question: str
    cited: tuple[str, ...] = ()


def prior_turns(history: Sequence[Any] | None) -> list[PriorTurn]:
    """The user questions of `history` (as `user_turns`), each with the article ids cited by
    the answer that followed it, when that answer carries its citations."""
    turns: list[PriorTurn] = []
    for item in history or []:
        if isinstance(item, dict):
            text = message_text(item.get("content"))
            if item.get("role") == "user" and text:
                turns.append(PriorTurn(text))
            elif item.get("role") == "assistant" and turns and not turns[-1].cited:
                cited = cited_articles(item)
                if cited:
                    turns[-1] = replace(turns[-1], cited=cited)
        elif isinstance(item, list | tuple) and item and isinstance(item[0], str):
            answer = item[1] if len(item) > 1 else None
            turns.append(PriorTurn(item[0], cited_articles(answer)))
        elif isinstance(item, str):
            turns.append(PriorTurn(item))
    return turns


def cited_articles(answer: Any) -> tuple[str, ...]:
    """Article ids cited by an answer given as an `Answer`, its `to_dict()`, or a chat message
    with `citations` (or `metadata.citations`): [{"article_id": ...}, ...]; [1] first."""
    if answer is None or isinstance(answer, str):
        return ()
    citations: Any = getattr(answer, "citations", None)
    if citations is None and isinstance(answer, Mapping):
        citations = answer.get("citations")
        metadata = answer.get("metadata")
        if citations is None and isinstance(metadata, Mapping):
            citations = metadata.get("citations")
    ids: list[str] = []
    for citation in citations or ():
        article = (
            citation.get("article_id")
            if isinstance(citation, Mapping)
            else getattr(citation, "article_id", None)
        )
        if isinstance(article, str) and article and article not in ids:
            ids.append(article)
    return tuple(ids)


def leans_on_history(question: str) -> bool:
    content = [w for w in _CONTENT.findall(question) if w.lower() not in _QUESTION_WORDS]
    return bool(_LEANING.search(question)) or len(content) < 3


def names_another_article(
    question: str, title: str, focus_titles: Sequence[tuple[str, str]]
) -> bool:
    """Whether `question` names what `title`'s article is about in words none of the focus
    articles' titles hold: "Hollin Moor was also in the Storm Corvin story. How much rain fell
    there?" leaves the algae study for the storm, its "there" notwithstanding."""
    held = {t for _, focus_title in focus_titles for t in tokenize(focus_title)}
    named = {t for name in names(question) for t in tokenize(name)} - held
    return bool(named & set(tokenize(title)))


def history_text(history: Sequence[Any] | None, limit: int = 6) -> str:
    lines = []
    for item in list(history or [])[-limit:]:
        if isinstance(item, dict) and message_text(item.get("content")):
            lines.append(f"{item.get('role', 'user')}: {message_text(item.get('content'))}")
        elif isinstance(item, list | tuple) and len(item) == 2:
            lines.append(f"user: {item[0]}")
            if item[1]:
                lines.append(f"assistant: {message_text(getattr(item[1], 'text', item[1]))}")
    return "\n".join(lines)


# -- the subject ---------------------------------------------------------------------------------


def names(text: str) -> list[str]:
    """Capitalised names in `text` ("Old Tanner Bridge", "Dr. Helena Marsh", "NATO"), in
    order, without a sentence's capitalised first word unless it starts a longer name."""
    found: list[str] = []
    for match in _NAME.finditer(text):
        words = match.group(0).split()
        while words and words[0].lower().rstrip(".") in _NOT_NAMES | {"dr", "ms", "mr", "prof"}:
            if words[0].lower() in _TITLES and len(words) > 1:
                break
            words = words[1:]
        if not words:
            continue
        name = " ".join(words)
        before = text[: match.start()].rstrip()
        at_start = not before or before[-1] in '.!?"“'
        if len(words) == 1 and (at_start or words[0].lower() in _NOT_NAMES or len(name) < 2):
            continue
        if name not in found:
            found.append(name)
    return found


_ORGANISATION = ORGANISATION


def people(sentence: str) -> list[str]:
    """Names of two words or more that look like people's (no organisation or place word,
    no possessive) in a sentence."""
    return [
        n
        for n in names(sentence)
        if len(n.split()) > 1 and not _ORGANISATION.search(n) and not n.endswith(("'s", "’s"))
    ]


@dataclass(frozen=True)
class Context:
    """What the previous turns leave for the next question (oldest first)."""

    questions: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()  # each turn's standalone query
    articles: tuple[tuple[str, ...], ...] = ()  # each turn's articles, [1]'s first; () abstained
    sentences: tuple[str, ...] = ()  # each turn's first cited sentence ("" abstained)
    titles: tuple[tuple[str, str], ...] = ()  # (article id, title) of the focus articles

    @property
    def empty(self) -> bool:
        return not self.questions

    @property
    def focus(self) -> tuple[str, ...]:
        """The articles of the last FOCUS_TURNS answered turns, the most recent first."""
        found: list[str] = []
        answered = [a for a in self.articles if a][-FOCUS_TURNS:]
        for number, articles in enumerate(reversed(answered)):
            for article in articles if number == 0 else articles[:1]:
                if article not in found:
                    found.append(article)
        return tuple(found)

    @property
    def last_sentence(self) -> str:
        return next((s for s in reversed(self.sentences) if s), "")

    def last_people(self) -> list[str]:
        """The people of the most recent answer that names any: "Calloway, 44, took charge…"
        names no one in full, so "he" after it is still the "Rhys Calloway" of the turn before."""
        for sentence in reversed(self.sentences[-FOCUS_TURNS:]):
            found = people(sentence)
            if found:
                return found
        return []

    def subject(self) -> str:
        """The previous turns' names and their words found in the focus articles' titles,
        the most recent turn first."""
        title_terms = {t for _, title in self.titles for t in tokenize(title)}
        parts: list[str] = []
        seen: set[str] = set()

        def add(text: str) -> None:
            terms = set(tokenize(text))
            if text and (not terms or not terms <= seen):
                parts.append(text)
                seen.update(terms)

        for question in reversed(self.questions[-FOCUS_TURNS:]):
            for name in names(question):
                add(name)
            for word in _CONTENT.findall(question):
                if set(tokenize(word)) & title_terms:
                    add(word)
        return " ".join(parts)

    def then(
        self, question: str, query: str, evidence: Sequence[Evidence], abstained: bool
    ) -> Context:
        articles = (evidence[0].article_id,) if evidence and not abstained else ()
        keep = slice(-REPLAY_TURNS, None)
        return Context(
            (*self.questions, question)[keep],
            (*self.queries, query)[keep],
            (*self.articles, articles)[keep],
            (*self.sentences, evidence[0].sentence if articles else "")[keep],
            (),
        )

    def answered_from(self, articles: tuple[str, ...]) -> Context:
        """The last turn answered from `articles` (given by the history's citations)."""
        if not self.questions or not articles:
            return self
        return replace(self, articles=(*self.articles[:-1], articles))

    def described(self) -> str:
        """The context as the condense prompt shows it."""
        lines = [f"- {title}" for _, title in self.titles]
        focus = "\n".join(lines) or "- (none yet)"
        subject = self.subject() or "(none)"
        last = self.last_sentence or "(none)"
        return (
            f"Articles the conversation is about:\n{focus}\n"
            f"Subject so far: {subject}\n"
            f"Last answer's sentence: {last}"
        )


def own_query(question: str, context: Context) -> str:
    """The question with what its own words point at: the people of the last answer for
    he/she/his/her (unless a role before the pronoun says whom it means: "And their
    goalkeeper, where's she on loan from?"), and the last answer itself for a bare "Why?"."""
    if context.empty:
        return question
    if not set(tokenize(question)) - _ASKING and context.last_sentence:
        return f"{question} {context.last_sentence}"
    pronoun = _PERSONAL.search(question)
    if pronoun and not PERSON_ROLE.search(question[: pronoun.start()]):
        found = [p for p in context.last_people() if p not in question][:2]
        if found:
            return f"{question} {' '.join(found)}"
    return question


def resolve(question: str, context: Context) -> str:
    """The standalone query without an LLM (`Answer.search_query`): a question that leans on
    the conversation is searched with the previous user question before it (and the names
    `own_query` adds); a standalone question is searched as asked."""
    if context.empty or not leans_on_history(question):
        return question
    return f"{context.questions[-1]} {own_query(question, context)}"


# -- the search of a follow-up ------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpSearch:
    """The search chosen for one question, with what it was chosen from."""

    query: str  # the standalone query (Answer.search_query)
    result: SearchResult
    evidence: tuple[Evidence, ...]
    confidence: float
    focus: tuple[str, ...] = ()  # the focus articles (empty: a first question)
    source: str = "global"  # "global" or "focus"
    # searched as a first question by FollowUps' `search`, whose evidence is in the order an
    # answer cites it (the assistant's: recency and the reordering applied, not to be redone)
    as_first: bool = False


Search = Callable[[str, Filters], "SearchResult"]
# a sentence's stemmed terms, given its key and how to read its text (FeatureCache.terms)
Terms = Callable[[tuple[str, int], Callable[[tuple[str, int]], str]], frozenset[str]]


def tokenized(key: tuple[str, int], text: Callable[[tuple[str, int]], str]) -> frozenset[str]:
    return frozenset(tokenize(text(key)))


Rewrite = Callable[[str, Sequence[Any], Context], str]


class FollowUps:
    """Follow-up search over one store: `context(history, ...)`, then `search(question, ...)`.

    `search(query, filters)` is the staged search (qa.search); the store and embedder rank the
    focus articles' sentences. Contexts are cached (a chat replays the same history at every
    turn); `clear()` after the store changes.
    """

    def __init__(
        self,
        search: Search,
        store: ArticleStore,
        embedder: Embedder,
        cache_size: int = 256,
        follow_search: Search | None = None,
        terms: Terms = tokenized,
    ):
        """`search` answers a first turn (and replays one), and a question that leaves the
        focus; `follow_search`, when given, the searches of a follow-up (the assistant's skip
        word-piece alignment: a follow-up's own words lack its subject, and its confidence is
        calibrated without it). `terms` gives a sentence's stemmed terms (the assistant's: the
        search's cache of them)."""
        self._search = search
        self._follow = follow_search or search
        self._terms = terms
        self.store = store
        self.embedder = embedder
        self._cache: OrderedDict[tuple[Any, ...], Context] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def context(self, history: Sequence[Any] | None, filters: Filters, threshold: float) -> Context:
        """The context the history leaves: its user questions (the last REPLAY_TURNS)
        replayed without an LLM, each in the context of those before it; a turn whose
        confidence is below `threshold` was abstained on and leaves no focus."""
        turns = prior_turns(history)[-REPLAY_TURNS:]
        context = Context()
        for number, turn in enumerate(turns):
            key = (tuple(turns[: number + 1]), filters, threshold)
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
            if cached is None:
                found = self.search(turn.question, context, filters, threshold)
                abstained = found.confidence < threshold
                cached = context.then(turn.question, found.query, found.evidence, abstained)
                cached = self.with_titles(cached.answered_from(turn.cited))
                with self._lock:
                    self._cache[key] = cached
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            context = cached
        return context

    def remember(
        self,
        history: Sequence[Any] | None,
        question: str,
        filters: Filters,
        threshold: float,
        context: Context,
        found: FollowUpSearch,
    ) -> None:
        """Keep what answering `question` in `context` leaves for the next turn, so the next
        follow-up need not replay it (only while the history is shorter than the replay
        window: past it, a replay starts from a shorter history and must be redone)."""
        turns = prior_turns(history)
        if len(turns) >= REPLAY_TURNS:
            return
        abstained = found.confidence < threshold
        after = self.with_titles(context.then(question, found.query, found.evidence, abstained))
        with self._lock:
            self._cache[((*turns, PriorTurn(question)), filters, threshold)] = after
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def with_titles(self, context: Context) -> Context:
        focus = context.focus
        stored = self.store.articles(focus) if focus else {}
        return replace(context, titles=tuple((a, stored[a].title) for a in focus if a in stored))

    def search(
        self,
        question: str,
        context: Context,
        filters: Filters,
        threshold: float,
        history: Sequence[Any] | None = None,
        rewrite: Rewrite | None = None,
    ) -> FollowUpSearch:
        """Search `question` in `context`: the focus articles against the whole collection."""
        if context.empty:
            result = self._search(question, filters)
            return FollowUpSearch(
                question, result, result.evidence, result.confidence, as_first=True
            )
        own = own_query(question, context)
        query = resolve(question, context)
        relief = FOCUS_RELIEF
        if rewrite is not None:
            own = query = rewrite(question, history or (), context) or query
            relief = 0.0
        overall = self._follow(question if rewrite is None else query, filters)
        focus = _restrict(filters, context.focus)
        if focus is None:
            return FollowUpSearch(query, overall, overall.evidence, overall.confidence)
        # "Who reported them?": its own words say too little to be confident about; what
        # "them" stands for is in the previous question, so the focus is searched with it
        mine = self._follow(query if _POINTING.search(question) else own, focus)
        confidence = mine.confidence + relief
        top = overall.evidence[0] if overall.evidence else None
        leave = (
            top is not None
            and (
                rewrite is not None
                or not leans_on_history(question)
                or names_another_article(question, top.title, context.titles)
            )
            and top.article_id not in focus.articles
            and overall.confidence >= threshold
            and overall.confidence > mine.confidence + FOCUS_MARGIN
        )
        if leave and rewrite is None:
            # a question that leaves the conversation stands on its own: it is answered as a
            # first question is (aligned, read, reordered), not from the plain search
            first = self._search(question, filters)
            return FollowUpSearch(
                question, first, first.evidence, first.confidence, focus.articles, as_first=True
            )
        evidence = (
            ()
            if leave
            else self.rank_focus(own, f"{context.questions[-1]} {own}", question, focus.articles)
        )
        if not evidence:
            return FollowUpSearch(
                query, overall, overall.evidence, overall.confidence, focus.articles, "global"
            )
        return FollowUpSearch(query, mine, evidence, confidence, focus.articles, "focus")

    def rank_focus(
        self, own: str, contextual: str, question: str, articles: Sequence[str], k: int = 10
    ) -> tuple[Evidence, ...]:
        """Every sentence of the focus articles, best first (see W_CONTEXT): inside articles
        the conversation already chose, the question's own meaning decides, the previous
        question lends its context, exact words break near-ties, and the kind of answer
        asked for ("how many" → a number) decides between sentences on the same subject."""
        stored = self.store.articles(articles)
        keys = [(a, i) for a in articles if a in stored for i in range(stored[a].sentences)]
        if not keys:
            return ()
        rows = self.store.sentence_rows(keys)
        texts = self.store.texts({a for a, _ in keys})
        keys = [key for key in keys if key in rows and key[0] in texts]
        sentence = {key: texts[key[0]][rows[key].start : rows[key].end] for key in keys}
        cosine = self.store.sentence_similarities(self.embedder.embed_query(own), keys)
        around = self.store.sentence_similarities(self.embedder.embed_query(contextual), keys)
        bm25 = self.store.bm25_sentence_scores(own, keys)
        best_bm25 = max(bm25.values(), default=0.0) or 1.0
        kind = expected_kind(question, follow_up=True)
        titles = {a: stored[a].title for a in articles if a in stored}
        text = sentence.__getitem__
        leads = headline_leads(own, titles, keys, lambda key: self._terms(key, text))
        score = {
            key: cosine.get(key, 0.0)
            + W_CONTEXT * around.get(key, 0.0)
            + W_BM25 * bm25.get(key, 0.0) / best_bm25
            + (W_KIND if kind and holds_kind(sentence[key], kind, question) else 0.0)
            + (W_HEADLINE if key in leads else 0.0)
            for key in keys
            if sentence[key].strip() and not is_lead_in(sentence[key])
        }
        order = sorted(score, key=lambda key: (-score[key], key))[:k]
        return tuple(
            Evidence(
                article_id=a,
                sentence_index=i,
                sentence=sentence[(a, i)],
                start=rows[(a, i)].start,
                end=rows[(a, i)].end,
                score=round(score[(a, i)], 4),
                title=stored[a].title,
                published=stored[a].published,
                url=stored[a].url,
                source=stored[a].source,
                paragraph=rows[(a, i)].paragraph,
                chunk=rows[(a, i)].chunk,
            )
            for a, i in order
        )


def headline_leads(
    question: str,
    titles: Mapping[str, str],
    keys: Sequence[tuple[str, int]],
    terms: Callable[[tuple[str, int]], frozenset[str]],
) -> set[tuple[str, int]]:
    """The lead sentences (each article's first) whose headline holds a word of the question
    that none of that article's sentences `keys` holds (see W_HEADLINE)."""
    asked = set(tokenize(question)) - _ASKING
    leads: set[tuple[str, int]] = set()
    for article, title in titles.items():
        only_title = asked & set(tokenize(title))
        if only_title and (article, 0) in keys:
            said = set().union(*(terms(key) for key in keys if key[0] == article))
            if only_title - said:
                leads.add((article, 0))
    return leads


def _restrict(filters: Filters, focus: tuple[str, ...]) -> Filters | None:
    if not focus:
        return None
    if filters.articles:
        focus = tuple(a for a in focus if a in filters.articles)
        if not focus:
            return None
    return replace(filters, articles=focus)
