"""The manifest's keyed lookups: one joined query per batch of keys, right rows for every key
(a real SQLite manifest; no embedding model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vectorstore import manifest as manifest_module
from vectorstore.manifest import Manifest
from vectorstore.types import Article, Chunk, Sentence

pytestmark = pytest.mark.unit


def _store(manifest: Manifest, article_id: str, sentences: int) -> None:
    text = " ".join(f"S{i}." for i in range(sentences))
    spans, start = [], 0
    for i in range(sentences):
        end = start + len(f"S{i}.")
        spans.append(Sentence(article_id, i, text[start:end], start, end, paragraph=i // 10))
        start = end + 1
    chunks = [
        Chunk(f"{article_id}:{n}", article_id, n, n * 5, min(n * 5 + 4, sentences - 1), "")
        for n in range((sentences + 4) // 5)
    ]
    vectors = np.arange(len(chunks) * 3, dtype=np.float32).reshape(len(chunks), 3)
    chunk_of = {s.index: s.index // 5 for s in spans}
    manifest.commit_articles(
        [(Article(article_id, article_id, text), spans, chunks, chunk_of, vectors)]
    )


def test_keyed_lookups_answer_every_key_across_batches(tmp_path: Path, monkeypatch) -> None:
    """Keys from several articles, repeated and missing, more than one batch: each stored key
    gets its own row, missing ones are left out, and no statement binds more than a batch."""
    monkeypatch.setattr(manifest_module, "KEYS_PER_QUERY", 7)
    manifest = Manifest(tmp_path / "m.sqlite3")
    _store(manifest, "a", 23)
    _store(manifest, "b", 12)
    keys = [("b", 11), ("a", 0), ("a", 22), ("a", 0), ("b", 3), ("zz", 1), ("a", 99)]
    keys += [("a", i) for i in range(5, 15)]
    rows = manifest.sentence_rows(keys)
    assert set(rows) == {k for k in keys if k[0] in "ab" and k[1] < (23 if k[0] == "a" else 12)}
    text = manifest.text("a") or ""
    for (article, index), row in rows.items():
        source = text if article == "a" else manifest.text("b") or ""
        assert source[row.start : row.end] == f"S{index}."
        assert (row.paragraph, row.chunk) == (index // 10, index // 5)
    members = manifest.chunk_sentences([("a", 4), ("b", 2), ("b", 9)])
    assert members == {("a", 4): range(20, 23), ("b", 2): range(10, 12)}
    vectors = manifest.chunk_vectors([("a", 1), ("b", 0)])
    assert vectors[("a", 1)].tolist() == [3.0, 4.0, 5.0]
    assert vectors[("b", 0)].tolist() == [0.0, 1.0, 2.0]
    assert manifest.sentence_rows([]) == {}
    manifest.close()
