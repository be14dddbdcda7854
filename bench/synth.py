"""Synthetic collections for the scale benchmark, and an embedding cache for repeated text.

Real: every paragraph (taken verbatim from ../shared/bench/squad/articles.jsonl) and every
sentence vector (computed once by the real model). Synthesised: the articles — each joins
`paragraphs` randomly drawn paragraphs under a new title, date and id.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import numpy as np

from bench.common import SQUAD


@cache
def pool() -> tuple[tuple[str, str], ...]:
    """(source title, paragraph) for every paragraph of the benchmark corpus."""
    out = []
    with (SQUAD / "articles.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            for paragraph in record["text"].split("\n\n"):
                if paragraph.strip():
                    out.append((record["title"], paragraph.strip()))
    return tuple(out)


def pool_sentences() -> list[str]:
    """Unique sentences of the pool, as citeqa splits them."""
    from vectorstore.sentences import split_sentences

    seen: dict[str, None] = {}
    for _, paragraph in pool():
        for sentence in split_sentences(paragraph):
            seen.setdefault(sentence.text)
    return list(seen)


def write_articles(path: Path, first: int, count: int, paragraphs: int = 3, seed: int = 7) -> int:
    """Write articles number first..first+count-1 as JSONL; returns characters written."""
    paras = pool()
    chars = 0
    with path.open("w", encoding="utf-8") as handle:
        for number in range(first, first + count):
            rng = random.Random(seed * 1_000_003 + number)
            picked = rng.sample(range(len(paras)), paragraphs)
            text = "\n\n".join(paras[i][1] for i in picked)
            published = date(2015, 1, 1) + timedelta(days=rng.randrange(3650))
            record = {
                "id": f"synthetic-{number:06d}",
                "title": f"{paras[picked[0]][0]}: dispatch {number}",
                "text": text,
                "published": published.isoformat(),
                "source": "synthetic-squad",
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            chars += len(text)
    return chars


class CachedEmbedder:
    """The real embedder, with document vectors looked up by exact text when already computed.

    Queries are never cached. `misses` counts texts that went to the model.
    """

    def __init__(self, inner: object, texts: Sequence[str], vectors: np.ndarray):
        self._inner = inner
        self._rows = {text: i for i, text in enumerate(texts)}
        self._vectors = vectors
        self.name = inner.name  # type: ignore[attr-defined]
        self.dimension = inner.dimension  # type: ignore[attr-defined]
        self.max_tokens = inner.max_tokens  # type: ignore[attr-defined]
        self.misses = 0

    def embed_documents(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        token_counts: Sequence[int] | None = None,
    ) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in self._rows]
        for i, text in enumerate(texts):
            row = self._rows.get(text)
            if row is not None:
                out[i] = self._vectors[row]
        if missing:
            self.misses += len(missing)
            out[missing] = self._inner.embed_documents(  # type: ignore[attr-defined]
                [texts[i] for i in missing]
            )
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._inner.embed_query(text)  # type: ignore[attr-defined]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._inner.count_tokens(texts)  # type: ignore[attr-defined]


def save_cache(folder: Path, texts: Sequence[str], vectors: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "texts.json").write_text(json.dumps(list(texts), ensure_ascii=False))
    np.save(folder / "vectors.npy", vectors)


def load_cache(folder: Path) -> tuple[list[str], np.ndarray]:
    return json.loads((folder / "texts.json").read_text()), np.load(folder / "vectors.npy")
