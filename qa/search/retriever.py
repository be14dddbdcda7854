"""The LangChain face of the search: `CiteqaRetriever`, a `BaseRetriever` for other chains.

Each Document's page_content is one verbatim stored sentence; metadata carries the article id,
title, date, url, sentence index, offsets and the ranker's score. `ask`/`stream` use the search
result directly; this adapter is for users composing their own LangChain chains.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict

from qa.filters import Filters
from qa.types import Evidence


class CiteqaRetriever(BaseRetriever):
    """`invoke(question)` → the k best evidence sentences; `invoke(question, k=3)` (or
    `ainvoke`) overrides the constructor's k for one call."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: Any
    k: int = 10
    filters: Filters = Filters()

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        result = self.searcher.search(query, self.k if k is None else k, self.filters)
        return [evidence_document(e) for e in result.evidence]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
    ) -> list[Document]:
        # BaseRetriever's default drops per-call kwargs, so `ainvoke(q, k=1)` would be a TypeError.
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), k=k
        )


def evidence_document(e: Evidence) -> Document:
    return Document(
        page_content=e.sentence,
        metadata={
            "article_id": e.article_id,
            "title": e.title,
            "published": e.published.isoformat() if e.published else None,
            "url": e.url,
            "source": e.source,
            "sentence_index": e.sentence_index,
            "start": e.start,
            "end": e.end,
            "score": e.score,
            "paragraph": e.paragraph,
            "chunk": e.chunk,
        },
    )
