"""The long-lived assistant: model and store loaded once, questions answered many times.

One question goes: follow-up → staged search (qa.search) → abstain or compose (extractive, or
a LangChain chat model whose [n] are checked). `retriever()` exposes the search as a LangChain
`BaseRetriever`, and `chain()` the whole answer as one LCEL runnable, for use in other chains.
"""

from __future__ import annotations

import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from prompts import load_prompt
from qa.answer_type import NUMBER_KINDS, REORDER_WEIGHT, expected_kind, kinds_held
from qa.checked import stream_checked
from qa.corrections import correction_for
from qa.errors import QuestionError
from qa.extractive import disagreement_answer, extractive_answer, quoted
from qa.filters import Filters
from qa.followup import Context, FollowUps, FollowUpSearch, history_text, resolve, user_turns
from qa.llm import fit_prompt
from qa.options import UNSET, AskOptions
from qa.question_time import question_time
from qa.recency import prefer_recent
from qa.reports import also_in, differing
from qa.search import ABSTAIN_BELOW, Searcher, SearchResult, headline
from qa.search.alignment import TOP_N, TokenAligner
from qa.search.head import reorder_head
from qa.search.reader import packaged_reader
from qa.timeline import asks_for_timeline, timeline_answer, timeline_subject
from qa.timing import elapsed_ms
from qa.types import ABSTAIN_TEXT, EMPTY_STORE_TEXT, Answer, Citation, Evidence, citation_from
from vectorstore.dates import day
from vectorstore.embed import FastStartEmbedder
from vectorstore.settings import Settings
from vectorstore.store import open_store
from vectorstore.types import IngestReport, StoredArticle

if TYPE_CHECKING:  # LangChain, the retriever and the loaders load when first used (`citeqa ask`
    # answers extractively without them): see tests/test_cli_startup.py
    from langchain_core.runnables import Runnable

    from qa.search.retriever import CiteqaRetriever
    from vectorstore.fetch import FetchPolicy
    from vectorstore.ingest import Progress

MAX_QUESTION_CHARS = 2000
DEFAULT_K = 5
TIMELINE_K = 8  # sentences a timeline answer may cite
SEARCH_K = 10  # evidence sentences searched for: the answer shows the best k of them

__all__ = ["Assistant", "QuestionError", "clean_question"]


class Assistant:
    """Settings in the constructor; `ask(question, history, **options)` per call, where the
    options are those of `qa.options.AskOptions` (an unknown name is an error)."""

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        llm: Any = None,
        model: str | None = None,
        chroma_url: str | None = None,
        settings: Settings | None = None,
        k: int = DEFAULT_K,
        abstain_below: float = ABSTAIN_BELOW,
        read_only: bool | None = None,
    ):
        """Questions are embedded through the model's ONNX export when there is one
        (vectorstore/query_encoder.py): no torch until the process embeds an article, so a
        process that only answers holds ~430 MB less (bench/serve_memory.py) and `citeqa ask`
        starts in ~2 s. The model itself loads on the first ingest."""
        self.settings = settings or Settings.from_env(
            home=home, model=model, chroma_url=chroma_url, read_only=read_only
        )
        self.embedder = FastStartEmbedder(
            self.settings.model, self.settings.precision, self.settings.embed_batch
        )
        self.store = open_store(self.settings, self.embedder)
        # word-piece alignment (qa/search/alignment.py): the search scores its first sentences
        # with it (the confidence reads the best); an extractive answer reorders them by it
        self.aligner = TokenAligner(self.embedder) if self.settings.align else None
        self.searcher = Searcher(self.store, self.embedder, aligner=self.aligner)
        # reorders the best sentences of an extractive answer with alignment (qa/search/reader.py)
        self.reader = packaged_reader() if self.settings.reader else None
        self.followups = FollowUps(
            self._first_turn_search,
            self.store,
            self.embedder,
            follow_search=lambda query, filters: self.searcher.search(
                query, SEARCH_K, filters, align=False
            ),
            terms=self.searcher.feature_cache.terms,
        )
        self.llm = llm
        self.k = k
        self.abstain_below = abstain_below
        self.write_lock = threading.Lock()  # one ingest/remove at a time; reads go on

    def close(self) -> None:
        self.searcher.close()
        self.store.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collection ------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path],
        progress: Progress | None = None,
        fetch: FetchPolicy | None = None,
    ) -> IngestReport:
        """Store the articles of files, folders, article URLs and feeds (URLs or files);
        `fetch` sets how URLs are fetched (default: polite, public addresses only)."""
        from vectorstore.ingest import ingest_paths

        with self.write_lock:
            try:
                return ingest_paths(self.store, self.embedder, paths, progress, fetch)
            finally:
                self.followups.clear()

    def remove(self, article_ids: Sequence[str]) -> list[str]:
        with self.write_lock:
            try:
                return self.store.remove(article_ids)
            finally:
                self.followups.clear()

    def articles(self, limit: int | None = None, matching: str = "") -> list[StoredArticle]:
        """Stored articles, newest first; `matching` keeps those whose title, source or id
        contains it, `limit` caps how many."""
        return self.store.list_articles(limit, matching)

    def article_count(self) -> int:
        return self.store.article_count()

    def paragraph_of(self, citation: Citation) -> tuple[str, int, int]:
        """The cited sentence's paragraph, and the sentence's offsets inside it."""
        key = (citation.article_id, citation.sentence_index)
        row = self.store.sentence_rows([key]).get(key)
        text = self.store.text(citation.article_id) or ""
        span = self.store.paragraph_span(citation.article_id, row.paragraph) if row else None
        if not span:
            return citation.sentence, 0, len(citation.sentence)
        begin, end = span
        return text[begin:end], citation.start - begin, citation.end - begin

    # -- answering -------------------------------------------------------------------------
    def retriever(self, k: int | None = None, filters: Filters | None = None) -> CiteqaRetriever:
        from qa.search.retriever import CiteqaRetriever

        return CiteqaRetriever(searcher=self.searcher, k=k or self.k, filters=filters or Filters())

    def search_query(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        llm: Any = None,
        filters: Filters | None = None,
    ) -> str:
        """The standalone question used for retrieval (see qa.followup): the question itself
        without history; else the question in the conversation's context, rewritten by the
        condense prompt when there is a chat model."""
        llm = llm if llm is not None else self.llm
        if not user_turns(history):
            return question
        context = self.followups.context(history, filters or Filters(), self.abstain_below)
        if llm is None:
            return resolve(question, context)
        return self._condense(llm)(question, history or (), context) or resolve(question, context)

    def _condense(self, llm: Any) -> Any:
        """The LLM rewrite: (question, history, context) → standalone question."""
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import PromptTemplate

        condense = PromptTemplate.from_template(load_prompt("condense")) | llm | StrOutputParser()

        def rewrite(question: str, history: Sequence[Any], context: Context) -> str:
            text = condense.invoke(
                {
                    "history": history_text(history),
                    "context": context.described(),
                    "question": question,
                }
            )
            return " ".join(text.split())

        return rewrite

    def _first_turn_search(self, question: str, filters: Filters) -> SearchResult:
        """A first question searched as an extractive answer cites it: the search, then the
        order the answer shows (recency, alignment, the reader). A follow-up's context is rebuilt
        from this, so "he" and "it" point at the sentence the user was shown [1], not at the
        ranker's first (which the alignment and the reader often move down)."""
        found = self._first_question_search(question, question, SEARCH_K, filters, True)
        read = self._read(question, found.evidence, found.result, {}, True)
        return replace(found.result, evidence=read)

    def _first_question_search(
        self, question: str, searched: str, k: int, filters: Filters, reading: bool
    ) -> FollowUpSearch:
        """The staged search of `searched` (the question, or the question less its time
        words), the reader scoring the first sentence meanwhile when `reading`; its evidence
        newer first where `question` asks for "latest" or "now"."""
        reader = self.reader if reading else None
        result = self.searcher.search(
            searched,
            k,
            filters,
            read_first=partial(reader.read_one, question) if reader is not None else None,
        )
        evidence = prefer_recent(question, result.evidence)
        return FollowUpSearch(question, result, evidence, result.confidence)

    def _remember_first_turn(
        self,
        follow_up: bool,
        question: str,
        filters: Filters,
        threshold: float,
        found: FollowUpSearch,
    ) -> None:
        """Keep a first question's context for its follow-ups (they keep their own)."""
        if not follow_up:
            self.followups.remember((), question, filters, threshold, Context(), found)

    def _search(
        self,
        question: str,
        history: Sequence[Any] | None,
        filters: Filters,
        threshold: float,
        llm: Any,
    ) -> FollowUpSearch:
        """The evidence for a follow-up, in the context of the conversation (qa.followup)."""
        context = self.followups.context(history, filters, threshold)
        rewrite = self._condense(llm) if llm is not None else None
        found = self.followups.search(question, context, filters, threshold, history, rewrite)
        if rewrite is None:  # the next turn's context starts from this one
            self.followups.remember(history, question, filters, threshold, context, found)
        if found.as_first:  # searched as a first question, as cited: recency applied
            return found
        return replace(found, evidence=prefer_recent(question, found.evidence))

    def _sentence_before(self, evidence: Evidence) -> Evidence | None:
        """The stored sentence before `evidence` in its article (None for the first)."""
        return self._neighbour(evidence, -1)

    def _sentence_after(self, evidence: Evidence) -> Evidence | None:
        """The stored sentence after `evidence` in its article (None for the last)."""
        return self._neighbour(evidence, 1)

    def _terms_and_leads(
        self, head: Sequence[Evidence]
    ) -> tuple[Callable[[tuple[str, int]], frozenset[str]], Callable[[str], str]]:
        """(a head sentence's stemmed terms, through the search's cache of them; an article's
        first sentence, from the head when it is there, else from the store)."""
        known = {(e.article_id, e.sentence_index): e.sentence for e in head}

        def text(key: tuple[str, int]) -> str:
            if key not in known:
                stored = self._stored_evidence(*key)
                known[key] = stored.sentence if stored is not None else ""
            return known[key]

        return (
            lambda key: self.searcher.feature_cache.terms(key, text),
            lambda article: text((article, 0)),
        )

    def _stored_evidence(self, article_id: str, index: int) -> Evidence | None:
        """A stored sentence as Evidence (score 0), with its article's title, date, source."""
        article = self.store.articles([article_id]).get(article_id)
        if article is None:
            return None
        blank = Evidence(
            article_id, index, "", 0, 0, 0.0, article.title, article.published, article.url,
            article.source,
        )  # fmt: skip
        return self._neighbour(blank, 0)

    def _neighbour(self, evidence: Evidence, step: int) -> Evidence | None:
        """The stored sentence `step` places from `evidence` in its article, or None."""
        if evidence.sentence_index + step < 0:
            return None
        key = (evidence.article_id, evidence.sentence_index + step)
        row = self.store.sentence_rows([key]).get(key)
        text = self.store.text(evidence.article_id)
        if row is None or text is None:
            return None
        return replace(
            evidence,
            sentence_index=key[1],
            sentence=text[row.start : row.end],
            start=row.start,
            end=row.end,
            paragraph=row.paragraph,
            chunk=row.chunk,
        )

    def _corrected(
        self, text: str, citations: tuple[Citation, ...], evidence: Sequence[Evidence]
    ) -> tuple[str, tuple[Citation, ...]]:
        """When [1] repeats a claim a later stored note says was wrong, the correcting
        sentence is cited after the answer and [1] says so (qa/corrections.py)."""
        if not citations:
            return text, citations
        first = citations[0]
        cited = next(
            (
                e
                for e in evidence
                if (e.article_id, e.sentence_index) == (first.article_id, first.sentence_index)
            ),
            None,
        )
        if cited is None:
            return text, citations
        found = correction_for(self.store, cited, self._sentence_after, self._stored_evidence)
        if found is None:
            return text, citations
        _, fact = found
        if any((c.article_id, c.sentence_index) == (fact.article_id, fact.sentence_index)
               for c in citations):  # fmt: skip
            return text, citations
        n = len(citations) + 1
        when = fact.published.date().isoformat() if fact.published else "undated"
        said = f"Corrected later ({fact.source or fact.title}, {when}):"
        text = f"{text} {said} {quoted(fact.sentence)} [{n}]"
        fixed = replace(first, corrected_by=n)
        return text, (fixed, *citations[1:], citation_from(fact, n))

    def _reported(self, citations: tuple[Citation, ...]) -> tuple[Citation, ...]:
        """Each citation with the other articles that hold its wording (`also_in`)."""
        return tuple(
            replace(c, also_in=also_in(self.store, c.article_id, c.sentence)) for c in citations
        )

    def _question_time(
        self, question: str, filters: Filters, options: AskOptions
    ) -> tuple[Filters, dict[str, str], str]:
        """The question's own time ("in March 2025", "last week") as a publication-date
        filter, unless --since/--until were given or no stored article falls in it; returns
        the filters, what `Answer.filters` records, and the question to search."""
        if filters.since is not None or filters.until is not None:
            given = {"since": filters.since, "until": filters.until}
            return filters, {k: v.date().isoformat() for k, v in given.items() if v}, question
        as_of = options.as_of if isinstance(options.as_of, date) else None  # checked by options
        asked = question_time(question, as_of) if options.time_in_question else None
        if asked is None:
            return filters, {}, question
        timed = replace(filters, since=asked.since, until=asked.until)
        published_then = self.store.matching_ids(
            timed.articles,
            asked.since.timestamp() if asked.since else None,
            asked.until.timestamp() if asked.until else None,
            timed.source,
        )
        if not published_then:
            return filters, asked.as_dict(applied=False), question
        return timed, asked.as_dict(applied=True), asked.query

    def chain(self, **options: Any) -> Runnable:
        """question (+ history) → Answer, as one LCEL runnable."""
        from langchain_core.runnables import RunnableLambda

        checked = AskOptions.build(options)
        return RunnableLambda(
            lambda x: x if isinstance(x, dict) else {"question": x}
        ) | RunnableLambda(lambda x: self._answer(x["question"], x.get("history"), checked))

    def ask(self, question: str, history: Sequence[Any] | None = None, **options: Any) -> Answer:
        """The final answer; `options` as in `qa.options.AskOptions`."""
        return self._answer(question, history, AskOptions.build(options))

    def stream(
        self, question: str, history: Sequence[Any] | None = None, **options: Any
    ) -> Iterator[Answer]:
        """Partial answers as they are composed; the last one is final and fully checked."""
        return self._stream(question, history, AskOptions.build(options))

    def _answer(self, question: str, history: Sequence[Any] | None, options: AskOptions) -> Answer:
        final: Answer | None = None
        for step in self._stream(question, history, options):
            final = step
        assert final is not None
        return final

    def _read(
        self,
        query: str,
        evidence: Sequence[Evidence],
        result: SearchResult,
        timings: dict[str, Any],
        wanted: bool,
    ) -> tuple[Evidence, ...]:
        """The sentence cited first is chosen among the best TOP_N by word-piece alignment
        (qa/search/alignment.py; the search has scored them, `result.aligned`) and the reader
        (qa/search/reader.py; the search read the first, `result.read`), each adding its
        weighted score to the ranker's, less the penalty of a sentence that only restates its
        headline (qa/search/headline.py), plus REORDER_WEIGHT for one holding the kind of answer
        asked for (qa/answer_type.py) (`wanted` for extractive answers to a first question).
        Not for a follow-up, whose words lack the subject the conversation supplies (the reader
        made 3 of the conversation set's follow-ups wrong and 1 right); an LLM reads them all
        and chooses for itself; a timeline orders by date."""
        if not wanted:
            return tuple(evidence)
        head = list(evidence[:TOP_N])
        if len(head) < 2:
            return tuple(evidence)
        bonus = np.zeros(len(head))
        if self.aligner is not None:
            # sentences that "latest" moved up were not among those the search aligned
            aligned = result.aligned
            missing = [e for e in head if (e.article_id, e.sentence_index) not in aligned]
            known = {**aligned, **self.searcher.align(query, missing)}
            scores = [known[(e.article_id, e.sentence_index)] for e in head]
            bonus += self.aligner.weight * np.asarray(scores)
        # a sentence that only restates its headline loses to one holding what the question
        # asks beyond it (qa/search/headline.py)
        terms, lead = self._terms_and_leads(head)
        bonus -= headline.WEIGHT * headline.restatement(query, head, terms, lead)
        # "how much" wants an amount, "who" a name the question does not hold (qa/answer_type.py)
        bonus += REORDER_WEIGHT * np.array(kinds_held(query, [e.sentence for e in head]), float)
        if self.reader is not None:
            started = time.perf_counter()
            before = np.array([e.score for e in head]) + bonus
            read, pairs = self.reader.head_bonus(query, head, before, result.read)
            bonus += read
            timings["read_ms"] = elapsed_ms(started)
            timings["read_pairs"] = pairs
        return tuple(reorder_head(evidence, bonus))

    def _stream(
        self, question: str, history: Sequence[Any] | None, options: AskOptions
    ) -> Iterator[Answer]:
        started = time.perf_counter()
        question = clean_question(question)
        if self.store.refresh():  # read-only: the writer committed articles since the last look
            self.followups.clear()
        k = options.k if options.k is not None else self.k
        filters = Filters.build(
            options.articles,
            options.since,
            options.until,
            options.source,
            self.settings.date_order,
        )
        filters, asked_time, search_question = self._question_time(question, filters, options)
        llm = self.llm if options.llm is UNSET else options.llm
        mode = options.mode or ("llm" if llm is not None else "extractive")
        if mode == "extractive" and options.mode is None and asks_for_timeline(question):
            mode = "timeline"  # "How did X develop?": the cited sentences in date order
        if mode == "timeline":
            search_question = timeline_subject(search_question)
        if mode == "llm" and llm is None:
            raise QuestionError("answer mode 'llm' needs a chat model (--llm)")
        if self.store.is_empty():
            yield Answer(question, EMPTY_STORE_TEXT, (), True, {}, (), mode)
            return
        threshold = self.abstain_below if options.abstain_below is None else options.abstain_below

        t0 = time.perf_counter()
        follow_up = bool(history and user_turns(history))
        if follow_up:
            found = self._search(
                question, history, filters, threshold, llm if mode == "llm" else None
            )
        else:
            found = self._first_question_search(
                question, search_question, max(k, SEARCH_K), filters, mode == "extractive"
            )
        query, evidence, confidence = found.query, found.evidence, found.confidence
        timings = {
            "retrieve_ms": elapsed_ms(t0),
            **found.result.timings,
            "confidence": round(confidence, 4),
        }
        if not evidence or confidence < threshold:
            self._remember_first_turn(follow_up, question, filters, threshold, found)
            timings["total_ms"] = elapsed_ms(started)
            yield Answer(
                question, ABSTAIN_TEXT, (), True, timings, evidence, mode, query, asked_time
            )
            return
        wanted = mode == "extractive" and not follow_up
        evidence = self._read(query, evidence, found.result, timings, wanted)
        # the next turn's context starts from the sentences as cited
        self._remember_first_turn(
            follow_up, question, filters, threshold, replace(found, evidence=evidence)
        )
        t1 = time.perf_counter()
        if mode in ("timeline", "extractive"):
            disputed = None
            if mode == "timeline":
                text, citations = timeline_answer(evidence, max(k, TIMELINE_K))
            else:
                # figures that differ matter when the question asks for one ("how many")
                asks_figure = expected_kind(search_question) in NUMBER_KINDS
                disputed = differing(evidence[0], evidence[1:k]) if asks_figure else None
                if disputed is not None:  # the sources give different figures: show both
                    text, citations = disagreement_answer(evidence[0], disputed)
                else:
                    text, citations = extractive_answer(
                        evidence[:k], question, self._sentence_before, self._sentence_after
                    )
                    text, citations = self._corrected(text, citations, evidence)
            citations = self._reported(citations)
            timings.update(compose_ms=elapsed_ms(t1), total_ms=elapsed_ms(started))
            yield Answer(
                question,
                text,
                citations,
                False,
                timings,
                evidence,
                mode,
                query,
                asked_time,
                disputed is not None,
            )
            return
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [("system", load_prompt("answer")), ("human", "{question}")]
        )
        fence = _fence()
        shown, messages = fit_prompt(  # evidence trimmed to the model's context, if it has one
            llm,
            evidence[:k],
            lambda chosen: prompt.invoke(
                {"question": question, "evidence": format_evidence(chosen), "fence": fence}
            ),
        )
        deltas = (str(chunk.content) for chunk in llm.stream(messages))
        for text, citations, final in stream_checked(deltas, shown):
            if final:
                timings.update(compose_ms=elapsed_ms(t1), total_ms=elapsed_ms(started))
                if not citations:
                    yield Answer(
                        question, ABSTAIN_TEXT, (), True, timings, evidence, mode, query, asked_time
                    )
                    return
            if final:
                citations = self._reported(citations)
            yield Answer(
                question, text, citations, False, dict(timings), evidence, mode, query, asked_time
            )


def clean_question(question: Any) -> str:
    """Control and zero-width characters out, whitespace collapsed; empty or huge is an error."""
    if not isinstance(question, str):
        raise QuestionError(f"question must be text, not {type(question).__name__}")
    kept = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in question
        if unicodedata.category(c) != "Cf"
    )
    kept = " ".join(kept.split())
    if not kept:
        raise QuestionError("question is empty")
    if len(kept) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"question is {len(kept)} characters; the limit is {MAX_QUESTION_CHARS}"
        )
    return kept


def format_evidence(evidence: Sequence[Evidence]) -> str:
    lines = []
    for n, e in enumerate(evidence, start=1):
        when = day(e.published) or "undated"
        lines.append(f"[{n}] ({e.title}, {when}) {e.sentence}")
    return "\n".join(lines)


def _fence() -> str:
    """An unguessable fence so article text cannot close the evidence block."""
    return secrets.token_hex(6)
