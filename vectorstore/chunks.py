"""Group sentences into chunks: whole consecutive sentences within the model's token budget.

A chunk prefers to end at a paragraph break once it is half full, so chunks follow the
article's own structure. A single sentence over budget becomes a chunk of its own (the
model truncates it; its own sentence vector still covers its start).
"""

from __future__ import annotations

from collections.abc import Sequence

from vectorstore.ids import chunk_id
from vectorstore.types import Chunk, Sentence


def group_chunks(
    text: str, sentences: Sequence[Sentence], token_counts: Sequence[int], budget: int
) -> list[Chunk]:
    """Chunks covering every sentence exactly once, in order."""
    if len(sentences) != len(token_counts):
        raise ValueError("one token count per sentence is required")
    chunks: list[Chunk] = []
    first = 0
    used = 0
    for i, (sentence, count) in enumerate(zip(sentences, token_counts, strict=True)):
        if i > first:
            new_paragraph = sentence.paragraph != sentences[i - 1].paragraph
            if used + count > budget or (new_paragraph and used >= budget // 2):
                chunks.append(_chunk(text, sentences, first, i - 1, len(chunks)))
                first, used = i, 0
        used += count
    if sentences:
        chunks.append(_chunk(text, sentences, first, len(sentences) - 1, len(chunks)))
    return chunks


def _chunk(text: str, sentences: Sequence[Sentence], first: int, last: int, number: int) -> Chunk:
    article = sentences[first].article_id
    return Chunk(
        id=chunk_id(article, number),
        article_id=article,
        number=number,
        first_sentence=sentences[first].index,
        last_sentence=sentences[last].index,
        text=text[sentences[first].start : sentences[last].end],
    )
