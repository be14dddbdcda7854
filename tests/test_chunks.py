"""Unit tests for vectorstore.chunks.group_chunks, with a Hypothesis property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vectorstore.chunks import group_chunks
from vectorstore.sentences import split_sentences
from vectorstore.types import Chunk, Sentence

pytestmark = pytest.mark.unit


def make_text(paragraph_sizes: list[int]) -> str:
    paragraphs = []
    n = 0
    for size in paragraph_sizes:
        words = []
        for _ in range(size):
            words.append(f"Sentence {n} is here.")
            n += 1
        paragraphs.append(" ".join(words))
    return "\n\n".join(paragraphs)


def check_cover(text: str, sentences: list[Sentence], chunks: list[Chunk]) -> None:
    covered = []
    for number, chunk in enumerate(chunks):
        assert chunk.number == number
        assert chunk.id == f"{chunk.article_id}:{number}"
        assert chunk.first_sentence <= chunk.last_sentence
        covered.extend(range(chunk.first_sentence, chunk.last_sentence + 1))
        first, last = sentences[chunk.first_sentence], sentences[chunk.last_sentence]
        assert chunk.text == text[first.start : last.end]
    assert covered == [s.index for s in sentences]


def test_every_sentence_once_in_order_within_budget():
    text = make_text([6, 6])
    sentences = split_sentences(text, "art")
    counts = [10] * len(sentences)
    chunks = group_chunks(text, sentences, counts, budget=35)
    check_cover(text, sentences, chunks)
    for chunk in chunks:
        assert sum(counts[chunk.first_sentence : chunk.last_sentence + 1]) <= 35
    assert all(c.article_id == "art" for c in chunks)


def test_single_over_long_sentence_is_a_chunk_of_its_own():
    text = make_text([5])
    sentences = split_sentences(text, "art")
    counts = [5, 5, 500, 5, 5]
    chunks = group_chunks(text, sentences, counts, budget=20)
    check_cover(text, sentences, chunks)
    spans = [(c.first_sentence, c.last_sentence) for c in chunks]
    assert (2, 2) in spans
    assert spans == [(0, 1), (2, 2), (3, 4)]


def test_prefers_paragraph_break_once_half_full():
    text = make_text([3, 3])
    sentences = split_sentences(text, "art")
    assert [s.paragraph for s in sentences] == [0, 0, 0, 1, 1, 1]
    # 3 x 20 = 60 >= 100 // 2, so the chunk ends at the paragraph break although 80 would fit
    chunks = group_chunks(text, sentences, [20] * 6, budget=100)
    assert [(c.first_sentence, c.last_sentence) for c in chunks] == [(0, 2), (3, 5)]
    assert "\n\n" not in chunks[0].text


def test_paragraph_break_ignored_when_chunk_is_small():
    text = make_text([1, 1, 1, 1])
    sentences = split_sentences(text, "art")
    # each paragraph is 10 tokens; 10, 20, 30 < 100 // 2 keeps going across the breaks
    chunks = group_chunks(text, sentences, [10] * 4, budget=100)
    assert [(c.first_sentence, c.last_sentence) for c in chunks] == [(0, 3)]
    assert chunks[0].text == text


def test_exact_budget_fits():
    text = make_text([4])
    sentences = split_sentences(text, "art")
    chunks = group_chunks(text, sentences, [25] * 4, budget=50)
    assert [(c.first_sentence, c.last_sentence) for c in chunks] == [(0, 1), (2, 3)]


def test_no_sentences_no_chunks():
    assert group_chunks("", [], [], budget=100) == []


def test_mismatched_token_counts_rejected():
    text = make_text([2])
    sentences = split_sentences(text, "art")
    with pytest.raises(ValueError, match="one token count per sentence"):
        group_chunks(text, sentences, [1], budget=100)


@settings(max_examples=200, deadline=None)
@given(
    paragraphs=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8),
    data=st.data(),
    budget=st.integers(min_value=16, max_value=200),
)
def test_property_cover_budget_and_text(paragraphs, data, budget):
    text = make_text(paragraphs)
    sentences = split_sentences(text, "art")
    assert len(sentences) == sum(paragraphs)
    counts = data.draw(
        st.lists(
            st.integers(min_value=1, max_value=300),
            min_size=len(sentences),
            max_size=len(sentences),
        )
    )
    chunks = group_chunks(text, sentences, counts, budget)
    check_cover(text, sentences, chunks)
    for i, chunk in enumerate(chunks):
        size = sum(counts[chunk.first_sentence : chunk.last_sentence + 1])
        if chunk.first_sentence != chunk.last_sentence:
            assert size <= budget
        if i + 1 < len(chunks):
            # a chunk ends early only at a paragraph break once at least half full
            following = counts[chunks[i + 1].first_sentence]
            at_break = (
                sentences[chunk.last_sentence].paragraph
                != sentences[chunks[i + 1].first_sentence].paragraph
            )
            assert size + following > budget or (at_break and size >= budget // 2)
