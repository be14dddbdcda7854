"""Document embedding: batches cut by word pieces, rows back in input order, real model."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.integration

# Short in characters but long in word pieces (numbers, codes, names) next to plain prose:
# sorting these by characters mixes very different token counts into one batch.
WORDS = ["international", "government", "development", "information", "community", "education"]
DENSE = ["-".join(str((i * 7 + j) % 10) for j in range(10 + i)) for i in range(48)]
PLAIN = [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(2 + i // 2)) + "." for i in range(48)]


def _padding(batches: list[list[int]]) -> float:
    padded = sum(max(b) * len(b) for b in batches)
    return padded / sum(sum(b) for b in batches) - 1


def test_batches_are_cut_by_word_pieces(embedder, monkeypatch):
    texts = [t for pair in zip(DENSE, PLAIN, strict=True) for t in pair]
    counts = dict(zip(texts, embedder.count_tokens(texts), strict=True))
    batches: list[list[int]] = []
    encode = embedder._encode

    def recording(batch: list[str]) -> np.ndarray:
        batches.append([counts[t] + 2 for t in batch])
        return encode(batch)

    monkeypatch.setattr(embedder, "_encode", recording)
    embedder.embed_documents(texts)
    assert sum(len(b) for b in batches) == len(texts)
    assert all(len(b) <= embedder.batch_size for b in batches)
    size = embedder.batch_size

    def cut(ordered: list[str]) -> list[list[int]]:
        return [
            [counts[t] + 2 for t in ordered[i : i + size]] for i in range(0, len(ordered), size)
        ]

    best = _padding(cut(sorted(texts, key=counts.__getitem__, reverse=True)))
    by_chars = _padding(cut(sorted(texts, key=len, reverse=True)))
    assert _padding(batches) == pytest.approx(best)
    assert by_chars > best + 0.1  # the data does tell the two orders apart


def test_rows_come_back_in_input_order(embedder):
    texts = [t for pair in zip(DENSE[:20], PLAIN[:20], strict=True) for t in pair]
    together = embedder.embed_documents(texts)
    alone = np.vstack([embedder.embed_documents([t]) for t in texts])
    cosine = (together * alone).sum(axis=1)
    assert cosine.min() > 0.99
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-3)
    assert (np.argmax(together @ alone.T, axis=1) == np.arange(len(texts))).all()


def test_given_token_counts_are_used_and_checked(embedder):
    texts = PLAIN[:3]
    with pytest.raises(ValueError, match="one token count per text"):
        embedder.embed_documents(texts, token_counts=[1, 2])
    steps: list[int] = []
    vectors = embedder.embed_documents(
        texts, progress=steps.append, token_counts=embedder.count_tokens(texts)
    )
    assert vectors.shape == (3, embedder.dimension)
    assert sum(steps) == 3


def test_batches_run_on_one_single_threaded_worker_per_core(embedder, monkeypatch):
    import threading

    import torch

    seen: list[tuple[str, int]] = []
    encode = embedder._encode

    def recording(batch: list[str]) -> np.ndarray:
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return encode(batch)

    monkeypatch.setattr(embedder, "_encode", recording)
    monkeypatch.setattr(embedder, "document_threads", 2)
    texts = (DENSE + PLAIN) * 2
    steps: list[int] = []
    vectors = embedder.embed_documents(texts, progress=steps.append)
    assert vectors.shape == (len(texts), embedder.dimension)
    assert sum(steps) == len(texts)
    workers = {name for name, _ in seen}
    assert len(workers) == 2 and all(name.startswith("citeqa-embed") for name in workers)
    assert {threads for _, threads in seen} == {1}


def test_a_failing_batch_stops_the_rest(embedder, monkeypatch):
    calls: list[int] = []
    encode = embedder._encode

    def failing(batch: list[str]) -> np.ndarray:
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("out of memory")
        return encode(batch)

    monkeypatch.setattr(embedder, "_encode", failing)
    monkeypatch.setattr(embedder, "document_threads", 1)
    texts = PLAIN * 10  # 15 batches
    with pytest.raises(RuntimeError, match="out of memory"):
        embedder.embed_documents(texts)
    assert len(calls) < 5


def test_queries_while_documents_are_embedded(embedder):
    """Queries share the tokenizer with the embedding workers: no "Already borrowed", same
    vectors as asked alone."""
    import threading

    questions = PLAIN[:6]
    alone = [embedder.embed_query(q) for q in questions]
    errors: list[BaseException] = []
    answers: list[np.ndarray] = []

    def ask() -> None:
        try:
            for _ in range(5):
                for q in questions:
                    answers.append(embedder.embed_query(q))
                    embedder.count_tokens([q, DENSE[0]])
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    asker = threading.Thread(target=ask)
    asker.start()
    embedder.embed_documents((DENSE + PLAIN) * 3)
    asker.join()
    assert not errors
    expected = [alone[i % len(questions)] for i in range(len(answers))]
    assert min(float(a @ b) for a, b in zip(answers, expected, strict=True)) > 0.99
