"""A Chroma index left torn by a killed writer is found before Chroma loads it, and rebuilt.

chromadb 1.5 crashes a process that loads a torn HNSW index (SIGSEGV, not an exception); the
crash-safety test met one (vectorstore/hnsw_files.py says what it held). These tests
tear a real store's index the ways a cut flush can, check that `vectorstore.hnsw_files` names
each one and passes whole indexes (young, synced, large), and that a writer's open removes a
torn index and makes every sentence vector again, while a reader refuses it with a clear error.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.store_invariants import Reference, check_store, chroma_rows, council
from vectorstore.hnsw_files import index_problem, torn_indexes
from vectorstore.ingest import ingest_paths
from vectorstore.settings import Settings
from vectorstore.store import REBUILD_VECTORS, ArticleStore, StoreError, open_store

pytestmark = pytest.mark.integration

ARTICLES = 500  # 1,500 sentence vectors: past Chroma's first sync (1,000), so links exist


def build(home: Path, folder: Path, embedder, articles: int = ARTICLES) -> dict[str, str]:
    folder.mkdir()
    for number in range(articles):
        council(number).write(folder)
    settings = settings_for(home)
    with open_store(settings, embedder) as store:
        report = ingest_paths(store, embedder, [folder])
        assert not report.failed
        return {a.id: store.text(a.id) or "" for a in store.list_articles()}


def settings_for(home: Path) -> Settings:
    return Settings(home=home)


def chroma_rows_of(home: Path, embedder) -> list:
    with ArticleStore(settings_for(home), embedder.name, embedder.dimension) as store:
        return chroma_rows(store._vectors.sentences)


def index_folder(home: Path) -> Path:
    (folder,) = [p for p in (home / "chroma").iterdir() if p.is_dir()]
    return folder


def grow(path: Path, by: int) -> None:
    os.truncate(path, path.stat().st_size + by)


def cut(path: Path, keep: float) -> None:
    os.truncate(path, int(path.stat().st_size * keep))


def header_ahead(folder: Path, more: int = 300) -> None:
    """The shape of the index that crashed Chroma in the crash-safety test: the header counts
    elements whose records (zeros here) the metadata pickle, written last, never learnt of."""
    header = bytearray((folder / "header.bin").read_bytes())
    count, record = struct.unpack_from("<QQ", header, 20)
    struct.pack_into("<Q", header, 20, count + more)
    (folder / "header.bin").write_bytes(bytes(header))
    grow(
        folder / "data_level0.bin",
        (count + more) * record - (folder / "data_level0.bin").stat().st_size,
    )
    grow(folder / "length.bin", (count + more) * 4 - (folder / "length.bin").stat().st_size)
    with (folder / "link_lists.bin").open("ab") as links:
        links.write(bytes(4 * more))  # the new elements: no upper levels


TEARS = {
    "header ahead of metadata": header_ahead,
    # as in the crash-safety test's store: a link file far past its records (sparse)
    "link lists grown": lambda f: grow(f / "link_lists.bin", 4_594_274_842_504),
    "link lists cut": lambda f: cut(f / "link_lists.bin", 0.5),
    "vectors cut": lambda f: cut(f / "data_level0.bin", 0.9),
    "norms cut": lambda f: cut(f / "length.bin", 0.5),
    "metadata cut": lambda f: cut(f / "index_metadata.pickle", 0.5),
    "header zeroed": lambda f: (f / "header.bin").write_bytes(bytes(100)),
    "header missing": lambda f: (f / "header.bin").unlink(),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder) -> tuple[Path, dict[str, str]]:
    """One store of 500 articles, copied by each test that tears it."""
    root = tmp_path_factory.mktemp("torn")
    expected = build(root / "home", root / "articles", embedder)
    return root / "home", expected


def copy_of(built_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    (home / "citeqa.lock").unlink(missing_ok=True)
    return home


def test_whole_indexes_pass(built, tmp_path):
    """Synced (1,500 vectors), young (10, no sync yet) and empty collections are whole."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    home, _ = built
    assert torn_indexes(home / "chroma") == []
    for count in (0, 10, 2500):
        path = tmp_path / f"c{count}"
        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        collection = client.get_or_create_collection("probe", embedding_function=None)
        rng = np.random.default_rng(count)
        for begin in range(0, count, 500):
            ids = [str(i) for i in range(begin, min(count, begin + 500))]
            collection.add(ids=ids, embeddings=rng.normal(size=(len(ids), 384)).astype("f4"))
        assert torn_indexes(path) == [], count
        client.close()
        assert torn_indexes(path) == [], count


@pytest.mark.parametrize("tear", sorted(TEARS))
def test_each_tear_is_named(built, tmp_path, tear):
    home = copy_of(built[0], tmp_path)
    folder = index_folder(home)
    assert index_problem(folder) is None
    TEARS[tear](folder)
    reason = index_problem(folder)
    assert reason, tear
    assert [t.folder for t in torn_indexes(home / "chroma")] == [folder]


@pytest.mark.parametrize(
    "tear", ["header ahead of metadata", "link lists grown", "metadata cut", "vectors cut"]
)
def test_writer_rebuilds_a_torn_index(built, tmp_path, embedder, capfd, tear):
    home, expected = copy_of(built[0], tmp_path), built[1]
    before = sorted((i, m) for i, _, m in chroma_rows_of(home, embedder))
    folder = index_folder(home)
    TEARS[tear](folder)
    settings = settings_for(home)
    with open_store(settings, embedder) as store:
        assert not store.vectors_missing
        assert store._manifest.get_meta(REBUILD_VECTORS) is None
        check_store(store, expected, Reference(embedder))
        assert torn_indexes(home / "chroma") == []
        # the same rows with the same filter fields (dates, sources) as the ingest gave them
        assert sorted((i, m) for i, _, m in chroma_rows(store._vectors.sentences)) == before
        # the rebuilt vectors answer: each probed sentence finds itself first
        for article_id in list(expected)[:20:4]:
            text = expected[article_id]
            row = store.sentence_rows([(article_id, 1)])[(article_id, 1)]
            vector = embedder.embed_query(text[row.start : row.end])
            (hit,) = store.dense_sentences(vector, 1, None)
            assert (hit.article_id, hit.number) == (article_id, 1)
    assert "left half-written" in capfd.readouterr().err
    with open_store(settings, embedder) as store:  # and it stays whole after closing
        check_store(store, expected, Reference(embedder))
    assert torn_indexes(home / "chroma") == []


def test_a_rebuild_cut_short_is_finished_by_the_next_writer(built, tmp_path, embedder):
    """The record is written before the index goes: a writer killed while rebuilding leaves it,
    and the next writer starts the collection again and makes every vector."""
    home, expected = copy_of(built[0], tmp_path), built[1]
    settings = settings_for(home)
    with ArticleStore(settings, embedder.name, embedder.dimension) as store:
        store._manifest.set_meta(REBUILD_VECTORS, "killed while rebuilding")
        store._vectors.sentences.delete(ids=[f"{next(iter(expected))}:s0"])  # a partial state
    with open_store(settings, embedder) as store:
        assert not store.vectors_missing
        check_store(store, expected, Reference(embedder))


def test_a_reader_refuses_a_torn_index_and_leaves_it(built, tmp_path, embedder):
    home = copy_of(built[0], tmp_path)
    folder = index_folder(home)
    TEARS["link lists cut"](folder)
    settings = replace(settings_for(home), read_only=True)
    with pytest.raises(StoreError, match=r"half-written.*open the store once for writing"):
        ArticleStore(settings, embedder.name, embedder.dimension)
    assert folder.is_dir() and index_problem(folder)
