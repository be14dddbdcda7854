"""Candidates the dense search missed are scored with their exact cosine, not the list's floor.

Chroma's HNSW index is approximate. When it leaves out the sentence that answers the question,
BM25 still finds it; when such a sentence ranks first, the hybrid score must use its real
cosine (fetched from Chroma by id), else the confidence rests on another sentence's cosine and
the question can be abstained on (tests/test_concurrency.py once saw "How much will the scheme
in Oakley cost?" abstained). A miss is simulated by removing the sentence from the dense list.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.search import Searcher, SearchResult
from tests.store_invariants import council, share_model
from vectorstore.ids import sentence_id
from vectorstore.store import ArticleStore

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "articles"
COUNCILS = range(40)  # near-duplicate articles: "The scheme in <town> will cost ..."


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder) -> Iterator[Assistant]:
    base = tmp_path_factory.mktemp("exact")
    folder = base / "articles"
    folder.mkdir()
    for number in COUNCILS:
        council(number).write(folder)
    with pytest.MonkeyPatch.context() as patch:  # the session's model, not a second copy
        share_model(patch, embedder)
        built = Assistant(home=base / "home")
    with built:
        report = built.ingest([SAMPLES, folder])
        assert not report.failed and len(report.added) == 6 + len(COUNCILS)
        yield built


@pytest.fixture
def searcher(assistant) -> Searcher:
    return assistant.searcher


def _miss(monkeypatch: pytest.MonkeyPatch, store: ArticleStore, article: str, index: int) -> None:
    """Make the dense search leave out one sentence, as an HNSW miss would."""
    hidden = sentence_id(article, index)
    dense_sentences = store.dense_sentences
    monkeypatch.setattr(
        store, "dense_sentences", lambda *a: [h for h in dense_sentences(*a) if h.id != hidden]
    )


def _score(result: SearchResult, article: str, index: int) -> float:
    found = [
        e.score for e in result.evidence if (e.article_id, e.sentence_index) == (article, index)
    ]
    assert found, f"sentence {index} of {article} is not in the evidence"
    return found[0]


def test_a_sentence_dense_search_missed_keeps_its_score(searcher, monkeypatch):
    article = council(7)
    target = (article.id, 2)  # "The scheme in <town> will cost N thousand pounds ..."
    store = searcher.store
    vector = searcher.embedder.embed_query(article.question)
    assert sentence_id(*target) in {h.id for h in store.dense_sentences(vector, 50, None)}

    seen = searcher.search(article.question, k=5)
    assert (seen.evidence[0].article_id, seen.evidence[0].sentence_index) == target

    _miss(monkeypatch, store, *target)
    assert sentence_id(*target) not in {h.id for h in store.dense_sentences(vector, 50, None)}
    missed = searcher.search(article.question, k=5)

    # with the old floor (lowest score of each dense list) this sentence's score fell from
    # 1.58 to 1.11, and the dense signal (which decides abstention) to the next sentence's
    assert _score(missed, *target) == pytest.approx(_score(seen, *target), abs=1e-4)
    assert missed.signals.dense == pytest.approx(seen.signals.dense, abs=1e-4)
    assert (missed.evidence[0].article_id, missed.evidence[0].sentence_index) == target
    assert article.answer in missed.evidence[0].sentence


def test_answered_when_the_dense_search_returns_nothing_useful(assistant, monkeypatch):
    """The worst miss: the dense list empty. The floor was 0 and the question was abstained on."""
    article = council(19)
    before = assistant.ask(article.question)
    assert not before.abstained
    monkeypatch.setattr(assistant.store, "dense_sentences", lambda *a: [])
    after = assistant.ask(article.question)
    assert not after.abstained, after.timings
    assert after.timings["confidence"] == pytest.approx(before.timings["confidence"], abs=1e-3)
    assert any(article.answer in c.sentence for c in after.citations)


def test_exact_scores_are_the_dense_scores(searcher):
    """Fetched by id or found by the dense query: the same cosine for the same vector."""
    store = searcher.store
    vector = searcher.embedder.embed_query(council(3).question)
    hits = store.dense_sentences(vector, 20, None)
    keys = [(h.article_id, h.number) for h in hits]
    # an id Chroma does not hold is left out
    scores = store.sentence_similarities(vector, [*keys, ("0" * 16, 0)])
    assert set(scores) == set(keys)
    for hit, key in zip(hits, keys, strict=True):
        assert scores[key] == pytest.approx(hit.score, abs=1e-4)


def test_no_vectors_are_fetched_when_dense_search_found_the_top_sentence(searcher, monkeypatch):
    """The fetch costs about a dense query; questions that do not need it must not pay it."""

    def fail(*args):
        raise AssertionError("fetched vectors by id although nothing was missed")

    monkeypatch.setattr(searcher.store, "sentence_similarities", fail)
    article = council(23)
    result = searcher.search(article.question, k=5)
    assert article.answer in result.evidence[0].sentence


def test_a_candidate_without_a_stored_vector_gets_the_floor(searcher, monkeypatch):
    """Chroma lacking a vector (mid-write elsewhere) must not fail the search."""
    article = council(11)
    target = (article.id, 2)
    store = searcher.store
    seen = searcher.search(article.question, k=5)
    _miss(monkeypatch, store, *target)
    monkeypatch.setattr(store, "sentence_similarities", lambda vector, keys: {})
    floored = searcher.search(article.question, k=10)
    assert _score(floored, *target) < _score(seen, *target) - 0.01
