"""Shared by the reliability tests (crash safety, state machine, concurrency).

Synthetic articles that are short, distinct and answerable; the store invariants checked after
every crash recovery or state-machine step; and the check that an answer cites stored text.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.chunks import group_chunks
from vectorstore.embed import Embedder
from vectorstore.ids import article_id, chunk_id, sentence_id
from vectorstore.lexical import LexicalIndex
from vectorstore.sentences import split_sentences
from vectorstore.store import ArticleStore

FILTER_FIELDS = {"article_id", "published_ts", "source"}  # all the metadata Chroma keeps

_PREFIXES = (
    "Brack",
    "Dun",
    "Hollow",
    "Marl",
    "Wend",
    "Thorn",
    "Ash",
    "Fell",
    "Gorm",
    "Hath",
    "Kes",
    "Lind",
    "Mor",
    "Nether",
    "Oak",
    "Pen",
    "Quar",
    "Rook",
    "Sel",
    "Tarn",
    "Ul",
    "Vex",
    "Wick",
    "Yarl",
    "Zen",
    "Cal",
    "Bel",
    "Cor",
    "Drum",
    "Elm",
    "Fal",
    "Glen",
    "Har",
    "Ick",
    "Jar",
    "Kil",
    "Lox",
    "Mab",
    "Nor",
    "Ost",
)
_SUFFIXES = (
    "ford",
    "mere",
    "by",
    "wick",
    "stead",
    "holm",
    "ton",
    "bury",
    "field",
    "moor",
    "worth",
    "combe",
    "dale",
    "ley",
    "bridge",
    "haven",
    "minster",
    "gate",
    "well",
    "thorpe",
    "hurst",
    "cliff",
    "wold",
    "marsh",
    "pool",
)
TOWNS = tuple(p + s for p in _PREFIXES for s in _SUFFIXES)  # 1,000 invented, distinct names
assert len(set(TOWNS)) == len(TOWNS) == 1000
THINGS = (
    "footbridges",
    "bus shelters",
    "allotments",
    "street lamps",
    "cycle racks",
    "benches",
    "playgrounds",
    "bird hides",
    "water fountains",
    "market stalls",
)
PEOPLE = (
    "Ada Quill",
    "Bram Oster",
    "Cora Vane",
    "Dev Mallory",
    "Esme Hart",
    "Fitz Rowe",
    "Greta Lund",
    "Hugo Pell",
    "Iris Thane",
    "Jonah Reeve",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Council:
    """One synthetic article: three sentences about a town council decision."""

    number: int
    version: int
    town: str
    count: int
    thing: str
    cost: int
    text: str

    @property
    def id(self) -> str:
        return article_id(self.text)

    @property
    def title(self) -> str:
        return f"{self.town} council approves {self.count} new {self.thing}"

    @property
    def question(self) -> str:
        return f"How much will the scheme in {self.town} cost?"

    @property
    def answer(self) -> str:
        """What the sentence that answers `question` must contain."""
        return f"{self.cost} thousand pounds"

    def record(self) -> dict[str, str]:
        month = (self.number % 12) + 1
        return {
            "title": self.title,
            "text": self.text,
            "source": "Reliability Gazette",
            "published": f"2025-{month:02d}-{(self.number % 28) + 1:02d}",
        }

    def write(self, folder: Path) -> Path:
        """As one JSON file; the file name stays the same across versions (an edited file)."""
        path = folder / f"council_{self.number:04d}.json"
        path.write_text(json.dumps(self.record()), encoding="utf-8")
        return path


def assistant_with(embedder: Embedder, home: Path) -> Any:
    """A fresh Assistant on `home` that uses the session's model (the caller closes it)."""
    import pytest

    from qa import Assistant

    with pytest.MonkeyPatch.context() as patch:
        share_model(patch, embedder)
        return Assistant(home=home)


def samples_assistant(embedder: Embedder, home: Path) -> Iterator[Any]:
    """An Assistant over samples/articles on `home`, closed after use (a module fixture's body)."""
    built = assistant_with(embedder, home)
    with built:
        assert not built.ingest(
            [Path(__file__).resolve().parent.parent / "samples" / "articles"]
        ).failed
        yield built


def share_model(patch: Any, embedder: Embedder) -> None:
    """Assistants built under `patch` (a pytest MonkeyPatch) use the session's model instead of
    loading a second copy."""
    import qa.assistant

    patch.setattr(qa.assistant, "FastStartEmbedder", lambda *a, **k: embedder)


def council(number: int, version: int = 0) -> Council:
    """Article `number` (0..999) in its `version`-th wording; every (number, version) differs."""
    rng = random.Random(number * 7919 + version * 104729)
    town = TOWNS[number]
    count = rng.randint(3, 97)
    cost = rng.randint(11, 990)
    thing = THINGS[number % len(THINGS)]
    person = PEOPLE[(number // len(THINGS)) % len(PEOPLE)]
    month = MONTHS[(number + version) % 12]
    text = (
        f"The {town} council approved {count} new {thing} at its meeting on Tuesday. "
        f"Councillor {person} said the {town} {thing} would be ready by {month}. "
        f"The scheme in {town} will cost {cost} thousand pounds from the "
        f"{2000 + version} budget."
    )
    return Council(number, version, town, count, thing, cost, text)


# -- what a clean ingest stores ----------------------------------------------------------------
@dataclass(frozen=True)
class Units:
    """The sentences (start, end, text) and chunks (first, last, text) of one article."""

    sentences: tuple[tuple[int, int, str], ...]
    chunks: tuple[tuple[int, int, str], ...]


class Reference:
    """Sentences and chunks as the ingest pipeline cuts them, computed without any store."""

    def __init__(self, embedder: Embedder, chunk_tokens: int = 200):
        self.embedder = embedder
        self.budget = min(chunk_tokens, embedder.max_tokens - 2)
        self._cache: dict[str, Units] = {}

    def units(self, text: str) -> Units:
        if text not in self._cache:
            sentences = split_sentences(text, article_id(text))
            counts = self.embedder.count_tokens([s.text for s in sentences])
            chunks = group_chunks(text, sentences, counts, self.budget)
            self._cache[text] = Units(
                tuple((s.start, s.end, s.text) for s in sentences),
                tuple((c.first_sentence, c.last_sentence, c.text) for c in chunks),
            )
        return self._cache[text]


# -- reading every row back ------------------------------------------------------------------
def chroma_rows(collection: Any, page: int = 1000) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (id, document, metadata) of a Chroma collection, paged."""
    rows: list[tuple[str, str, dict[str, Any]]] = []
    offset = 0
    while True:
        got = collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
        if not got["ids"]:
            return rows
        rows += zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        offset += len(got["ids"])


def bm25_rows(index: LexicalIndex) -> list[tuple[str, int]]:
    """Every live (article_id, number) row of a BM25 field, duplicates kept."""
    with index.lock:
        return [
            (str(a), int(n))
            for segment in index._segments
            for a, n in zip(
                segment.articles(segment.live), segment.numbers[segment.live], strict=True
            )
        ]


def _diff(name: str, got: Iterable[Any], want: Iterable[Any]) -> str:
    got, want = set(got), set(want)
    extra, missing = sorted(got - want)[:5], sorted(want - got)[:5]
    return (
        f"{name}: {len(got - want)} unexpected (e.g. {extra}), {len(want - got)} missing "
        f"(e.g. {missing})"
    )


@dataclass(frozen=True)
class Counts:
    articles: int
    sentences: int
    chunks: int


def check_store(
    store: ArticleStore,
    expected: Mapping[str, str],
    reference: Reference,
    origins: Mapping[str, str] | None = None,
) -> Counts:
    """Assert that manifest, Chroma and BM25 hold exactly the `expected` {id: text} articles.

    Each article is present once, with every sentence and chunk a clean ingest would make, in
    the manifest (with a vector per chunk), in Chroma (one vector per sentence) and in both
    BM25 fields; nothing belongs to an
    article that is not stored; the journal is empty; BM25 on disk equals BM25 in memory.
    `origins` ({origin: article id}), when given, must match the manifest's origins.
    """
    manifest = store._manifest
    assert manifest.pending() == [], f"journal entries left: {manifest.pending()[:5]}"
    ids = manifest.ids()
    assert len(ids) == len(set(ids)), "an article id is stored twice"
    assert set(ids) == set(expected), _diff("articles", ids, expected)
    listed = {a.id: a for a in store.list_articles()}
    assert len(listed) == len(ids) and set(listed) == set(ids)
    texts = manifest.texts(ids)

    # vector / BM25 row id -> text
    want_sentences: dict[str, str] = {}
    want_chunks: dict[str, str] = {}
    for aid in ids:
        text = texts[aid]
        assert text == expected[aid], f"{aid}: stored text differs"
        units = reference.units(text)
        n_sentences, n_chunks = len(units.sentences), len(units.chunks)
        assert (listed[aid].sentences, listed[aid].chunks) == (n_sentences, n_chunks), aid
        rows = manifest.sentence_rows((aid, i) for i in range(n_sentences + 1))
        assert sorted(rows) == [(aid, i) for i in range(n_sentences)], aid
        chunk_of = {
            i: n for n, (first, last, _) in enumerate(units.chunks) for i in range(first, last + 1)
        }
        for i, (start, end, sentence) in enumerate(units.sentences):
            assert (rows[(aid, i)].start, rows[(aid, i)].end) == (start, end), (aid, i)
            assert rows[(aid, i)].chunk == chunk_of[i], (aid, i)
            assert text[start:end] == sentence
            want_sentences[sentence_id(aid, i)] = sentence
        spans = manifest.chunk_sentences((aid, n) for n in range(n_chunks + 1))
        assert sorted(spans) == [(aid, n) for n in range(n_chunks)], aid
        for n, (first, last, chunk) in enumerate(units.chunks):
            assert spans[(aid, n)] == range(first, last + 1), (aid, n)
            want_chunks[chunk_id(aid, n)] = chunk
        vectors = manifest.chunk_vectors((aid, n) for n in range(n_chunks))
        assert sorted(vectors) == [(aid, n) for n in range(n_chunks)], f"{aid}: chunk vectors"
    if origins is not None:
        for origin, aid in origins.items():
            assert manifest.article_for_origin(origin) == aid, f"origin {origin}"
        for aid in ids:
            assert manifest.origins_of(aid), f"{aid} is stored but no file holds it"

    stored_rows = chroma_rows(store._vectors.sentences)
    got_ids = [r[0] for r in stored_rows]
    assert len(got_ids) == len(set(got_ids)), "Chroma sentence ids repeat"
    assert set(got_ids) == set(want_sentences), _diff("Chroma sentences", got_ids, want_sentences)
    for row_id, document, meta in stored_rows:
        text = want_sentences[row_id]
        assert document in (None, text), f"Chroma sentence {row_id}: wrong document"
        assert meta["article_id"] == row_id.split(":")[0], row_id
        assert set(meta) == FILTER_FIELDS, f"Chroma sentence {row_id}: {meta}"

    for name, index, want in (
        ("sentence", store._bm25_sentences, want_sentences),
        ("chunk", store._bm25_chunks, want_chunks),
    ):
        keys = [_split_key(k) for k in want]
        live = bm25_rows(index)
        assert len(live) == len(set(live)), f"a BM25 {name} row is live twice"
        assert set(live) == set(keys), _diff(f"BM25 {name}s", live, keys)
        assert len(index) == len(live)
        on_disk = LexicalIndex(index.folder)
        assert sorted(bm25_rows(on_disk)) == sorted(live), f"BM25 {name}s on disk differ"
        if want:  # scores from the persisted index equal the live ones
            probe = next(iter(want.values()))
            assert _ranked(on_disk, probe) == _ranked(index, probe), f"BM25 {name} scores"
    return Counts(len(ids), len(want_sentences), len(want_chunks))


def _split_key(key: str) -> tuple[str, int]:
    aid, _, rest = key.partition(":")
    return aid, int(rest.removeprefix("s"))


def _ranked(index: LexicalIndex, query: str) -> list[tuple[str, int, float]]:
    return [(a, n, round(s, 4)) for a, n, s in index.search(query, 20)]


def check_cited(answer: Any, store: ArticleStore, stored: Iterable[str]) -> None:
    """Every citation and evidence sentence is `text[start:end]` of a stored article."""
    stored = set(stored)
    texts = store.texts([c.article_id for c in (*answer.citations, *answer.evidence)])
    for item in (*answer.citations, *answer.evidence):
        assert item.article_id in stored, f"{item.article_id} is not a stored article"
        assert texts[item.article_id][item.start : item.end] == item.sentence, item
    for citation in answer.citations:
        assert f"[{citation.n}]" in answer.text


def report(key: str, value: dict[str, Any]) -> None:
    """Print a result and add it to the JSON file named by CITEQA_RELIABILITY_OUT, if set."""
    print(f"\n{key}: {json.dumps(value)}")
    out = os.environ.get("CITEQA_RELIABILITY_OUT")
    if not out:
        return
    path = Path(out)
    data = json.loads(path.read_text("utf-8")) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2), "utf-8")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0
