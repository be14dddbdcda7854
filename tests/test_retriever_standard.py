"""`CiteqaRetriever` against LangChain's own standard retriever tests (langchain-tests).

`RetrieversIntegrationTests` builds the retriever from `retriever_constructor(**params)`, so the
params carry the searcher of one Assistant that has ingested samples/articles with the session's
model. The standard k tests rebuild it with `k=3`/`k=1` and call `invoke(query, k=...)`; the
plain tests below pin the per-call k, sync and async, on an Assistant-built retriever.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import RetrieversIntegrationTests

from qa.assistant import Assistant
from qa.search.retriever import CiteqaRetriever
from tests.store_invariants import share_model

# anyio runs the standard suite's one `async def` test (the project sets no asyncio_mode, and a
# module-wide asyncio mark would warn on every sync test); it only touches coroutine tests.
pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "articles"
BRIDGE_Q = "What will the new structure replacing the Old Tanner Bridge cost?"
K = 4  # the constructor's k; the standard tests ask for 3 and 1 as well


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, embedder) -> Iterator[Assistant]:
    """One Assistant over samples/articles, closed (its store lock released) after the module."""
    home = tmp_path_factory.mktemp("retriever-standard") / "home"
    with pytest.MonkeyPatch.context() as patch:  # the session's model, not a second copy
        share_model(patch, embedder)
        built = Assistant(home=home)
    with built:
        report = built.ingest([SAMPLES])
        assert not report.failed and len(report.added) == 6
        yield built


class TestCiteqaRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _assistant(self, ingested: Assistant) -> None:
        # Autouse fixtures run first, so the standard `retriever` fixture and the k tests (which
        # read `retriever_constructor_params`) see the ingested store.
        self.assistant = ingested

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return CiteqaRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"searcher": self.assistant.searcher, "k": K}

    @property
    def retriever_query_example(self) -> str:
        return BRIDGE_Q


@pytest.fixture
def retriever(ingested: Assistant) -> BaseRetriever:
    return ingested.retriever(k=K)


def _verbatim(documents: list[Document], assistant: Assistant) -> None:
    for doc in documents:
        m = doc.metadata
        assert assistant.store.text(m["article_id"])[m["start"] : m["end"]] == doc.page_content


def test_per_call_k_overrides_the_constructors(retriever, ingested):
    one = retriever.invoke(BRIDGE_Q, k=1)
    assert len(one) == 1
    assert "£14.2 million" in one[0].page_content
    default = retriever.invoke(BRIDGE_Q)
    assert 0 < len(default) <= K
    assert default[0] == one[0]  # the same best sentence, with the same metadata
    _verbatim(one + default, ingested)


async def test_per_call_k_overrides_the_constructors_async(retriever, ingested):
    one = await retriever.ainvoke(BRIDGE_Q, k=1)
    assert len(one) == 1
    default = await retriever.ainvoke(BRIDGE_Q)
    assert 0 < len(default) <= K
    assert default[0] == one[0]
    _verbatim(one + default, ingested)
