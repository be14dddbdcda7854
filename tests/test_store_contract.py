"""The store contract, run against embedded Chroma and a real `chroma run` server.

`StoreContract` holds every test; `TestEmbeddedStore` and `TestServerStore` run it with
vectors in the store's home folder and on the session's Chroma server. Each test gets a fresh
home; on the shared server its collections are dropped after every test so that vectors
never leak from one test into the next.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.store_invariants import FILTER_FIELDS
from vectorstore.chroma_store import EF_CONSTRUCTION, EF_SEARCH, SENTENCES, ChromaError
from vectorstore.ids import parse_vector_id
from vectorstore.ingest import ingest_paths
from vectorstore.settings import Settings
from vectorstore.store import ArticleStore, StoreError, StoreInUseError, open_store

CHUNKS = "citeqa_chunks"  # the chunk-vector collection of stores made before chunks lost them
FOREIGN_CHUNKS = "citeqa-other_chunks"  # another store's: never touched


def _names(client) -> set[str]:
    return {getattr(c, "name", c) for c in client.list_collections()}


pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "articles"
SAMPLE_COUNT = 6
BRIDGE = "marrowby_bridge.txt"
OLD_BRIDGE_SENTENCE = "Councillors in Marrowby voted 11 to 4 on Thursday evening"
NEW_BRIDGE_SENTENCE = "Councillors in Marrowby voted 12 to 3 on Thursday evening"


def _all_rows(collection) -> tuple[list[str], np.ndarray, list[dict]]:
    """Every (id, vector, metadata) of a Chroma collection, paged."""
    ids: list[str] = []
    vectors: list[np.ndarray] = []
    metas: list[dict] = []
    offset = 0
    while True:
        page = collection.get(include=["embeddings", "metadatas"], limit=500, offset=offset)
        if not page["ids"]:
            break
        ids += page["ids"]
        vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
        metas += page["metadatas"]
        offset += len(page["ids"])
    return ids, (np.vstack(vectors) if vectors else np.zeros((0, 0))), metas


def _copy_samples(dest: Path) -> Path:
    shutil.copytree(SAMPLES, dest)
    return dest


class StoreContract:
    """Everything an ArticleStore promises, whatever holds its vectors."""

    # -- how the subclasses differ -----------------------------------------------------------
    def settings_for(self, home: Path) -> Settings:
        raise NotImplementedError

    @pytest.fixture
    def home(self, tmp_path) -> Path:
        return tmp_path / "home"

    @pytest.fixture
    def make_store(self, home, embedder) -> Iterator[Callable[..., ArticleStore]]:
        opened: list[ArticleStore] = []

        def make(model: str | None = None, dimension: int | None = None) -> ArticleStore:
            settings = self.settings_for(home)
            if model is None:
                store = open_store(settings, embedder)
            else:
                store = ArticleStore(settings, model, dimension or embedder.dimension)
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()
        self.cleanup(opened)

    def cleanup(self, opened: list[ArticleStore]) -> None:
        """Nothing to do for an embedded store: its vectors live in tmp_path."""

    @pytest.fixture
    def store(self, make_store) -> ArticleStore:
        store = make_store()
        assert store._vectors.count() == 0, "a fresh store must start without vectors"
        return store

    @pytest.fixture
    def ingested(self, store, embedder):
        report = ingest_paths(store, embedder, [SAMPLES])
        return store, report

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def assert_consistent(store: ArticleStore) -> None:
        """Manifest, Chroma (sentence vectors) and BM25 (both fields) hold the same articles."""
        ids = set(store.article_ids())
        assert store._vectors.article_ids() == ids
        assert store._bm25_sentences.article_ids() == ids
        assert store._bm25_chunks.article_ids() == ids
        sentences = sum(a.sentences for a in store.list_articles())
        chunks = sum(a.chunks for a in store.list_articles())
        assert store._vectors.count() == sentences
        assert len(store._bm25_sentences) == sentences
        assert len(store._bm25_chunks) == chunks

    # -- ingest --------------------------------------------------------------------------------
    def test_ingest_samples_adds_six(self, ingested):
        store, report = ingested
        assert len(report.added) == SAMPLE_COUNT
        assert report.unchanged == () and report.replaced == () and report.failed == ()
        assert sorted(report.added) == store.article_ids()
        assert report.sentences == sum(a.sentences for a in store.list_articles())
        self.assert_consistent(store)

    def test_list_articles_pages_and_finds_by_title_source_or_id(self, ingested):
        store, _ = ingested
        everything = store.list_articles()
        assert store.article_count() == len(everything) == SAMPLE_COUNT
        assert [a.id for a in store.list_articles(limit=2)] == [a.id for a in everything[:2]]
        assert store.list_articles(limit=0) == []
        bridge = next(a for a in everything if "Old Tanner" in a.title)
        for needle in ("old tanner", bridge.id[:7], bridge.id.upper()):
            assert [a.id for a in store.list_articles(matching=needle)] == [bridge.id], needle
        if bridge.source:
            assert bridge.id in {a.id for a in store.list_articles(matching=bridge.source)}
        # LIKE's wildcards are searched as themselves, not as patterns
        assert store.list_articles(matching="%") == []
        assert store.list_articles(matching="_") == []
        assert store.list_articles(matching="no such words anywhere") == []
        assert store.sources() == sorted({a.source for a in everything if a.source})

    def test_list_articles_counts_match_manifest_and_vectors(self, ingested):
        store, _ = ingested
        articles = store.list_articles()
        assert len(articles) == SAMPLE_COUNT
        _, _, sentence_meta = _all_rows(store._vectors.sentences)
        sentence_vectors = Counter(m["article_id"] for m in sentence_meta)
        for a in articles:
            assert a.sentences > 0 and a.chunks > 0
            rows = store._manifest.sentence_rows((a.id, i) for i in range(a.sentences + 1))
            assert sorted(rows) == [(a.id, i) for i in range(a.sentences)], a.title
            spans = store._manifest.chunk_sentences((a.id, n) for n in range(a.chunks + 1))
            assert len(spans) == a.chunks, a.title
            covered = [i for n in range(a.chunks) for i in spans[(a.id, n)]]
            assert covered == list(range(a.sentences)), "chunks must tile the sentences"
            assert sentence_vectors[a.id] == a.sentences, a.title
            assert a.chars == len(store.text(a.id))
        counts = store._manifest.counts()
        assert counts[:3] == (
            SAMPLE_COUNT,
            sum(a.sentences for a in articles),
            sum(a.chunks for a in articles),
        )
        stats = store.stats()
        assert stats.articles == SAMPLE_COUNT
        assert stats.vectors == counts[1]  # one per sentence: chunks have no vectors

    def test_ingest_again_changes_nothing(self, ingested, embedder):
        store, first = ingested
        before = store._vectors.count()
        bm25_before = (len(store._bm25_sentences), len(store._bm25_chunks))
        again = ingest_paths(store, embedder, [SAMPLES])
        assert again.added == () and again.replaced == () and again.failed == ()
        assert sorted(again.unchanged) == sorted(first.added)
        assert again.sentences == 0
        assert store._vectors.count() == before
        assert (len(store._bm25_sentences), len(store._bm25_chunks)) == bm25_before
        self.assert_consistent(store)

    def test_edited_file_replaces_old_article_everywhere(self, store, embedder, tmp_path):
        folder = _copy_samples(tmp_path / "articles")
        first = ingest_paths(store, embedder, [folder])
        assert len(first.added) == SAMPLE_COUNT
        bridge = folder / BRIDGE
        old_id = store._manifest.article_for_origin(str(bridge))
        assert old_id in first.added
        text = bridge.read_text("utf-8")
        assert OLD_BRIDGE_SENTENCE in text
        bridge.write_text(text.replace(OLD_BRIDGE_SENTENCE, NEW_BRIDGE_SENTENCE), "utf-8")

        second = ingest_paths(store, embedder, [folder])
        assert len(second.replaced) == 1 and second.added == () and second.failed == ()
        assert len(second.unchanged) == SAMPLE_COUNT - 1
        new_id = second.replaced[0]
        assert new_id != old_id
        assert store._manifest.article_for_origin(str(bridge)) == new_id
        assert not store._manifest.has(old_id)
        assert store.text(old_id) is None
        assert old_id not in store._vectors.article_ids()
        assert old_id not in store._bm25_sentences.article_ids()
        assert old_id not in store._bm25_chunks.article_ids()
        assert new_id in store._vectors.article_ids()
        assert NEW_BRIDGE_SENTENCE in store.text(new_id)
        assert len(store.list_articles()) == SAMPLE_COUNT
        # the old wording is no longer findable by BM25
        hits = store._bm25_sentences.search("voted 11 to 4", 50)
        assert all(article != old_id for article, _, _ in hits)
        self.assert_consistent(store)

    def test_same_text_under_another_name_is_stored_once(self, store, embedder, tmp_path):
        folder = _copy_samples(tmp_path / "articles")
        ingest_paths(store, embedder, [folder])
        counts = store._vectors.count()
        bridge_id = store._manifest.article_for_origin(str(folder / BRIDGE))
        copy = tmp_path / "elsewhere" / "copy_of_bridge.txt"
        copy.parent.mkdir()
        shutil.copy(folder / BRIDGE, copy)

        report = ingest_paths(store, embedder, [copy])
        assert report.unchanged == (bridge_id,)
        assert report.added == () and report.replaced == () and report.failed == ()
        assert len(store.list_articles()) == SAMPLE_COUNT
        assert store._vectors.count() == counts
        assert store._manifest.article_for_origin(str(copy)) == bridge_id

        # editing one of the two files keeps the article the other file still holds
        original = folder / BRIDGE
        original.write_text(
            original.read_text("utf-8").replace(OLD_BRIDGE_SENTENCE, NEW_BRIDGE_SENTENCE), "utf-8"
        )
        edited = ingest_paths(store, embedder, [original])
        assert len(edited.replaced) == 1
        assert store._manifest.has(bridge_id), "the copy still refers to the old text"
        assert len(store.list_articles()) == SAMPLE_COUNT + 1
        self.assert_consistent(store)

    def test_remove_deletes_everything(self, ingested):
        store, report = ingested
        victims = sorted(report.added)[:2]
        keep = sorted(set(report.added) - set(victims))
        assert sorted(store.remove([*victims, "0000000000000000"])) == victims
        for victim in victims:
            assert not store._manifest.has(victim)
            assert store._manifest.origins_of(victim) == []
            assert store._manifest.sentence_rows([(victim, 0)]) == {}
        assert store.article_ids() == keep
        self.assert_consistent(store)
        assert store.remove(victims) == []  # already gone: nothing to do

        assert sorted(store.remove(keep)) == keep
        assert store.is_empty()
        assert store._vectors.count() == 0
        assert store._vectors.article_ids() == set()
        assert store._bm25_sentences.article_ids() == set()
        assert store._bm25_chunks.article_ids() == set()
        assert store._manifest.counts() == (0, 0, 0, 0)

    def test_every_vector_belongs_to_a_verbatim_stored_sentence(self, ingested, embedder):
        """Chroma keeps vectors and ids only; each must match a stored span's own embedding."""
        store, _ = ingested
        ids, vectors, metas = _all_rows(store._vectors.sentences)
        assert len(ids) == sum(a.sentences for a in store.list_articles())
        # filter fields only: positions live in the ids (each field costs Chroma time per row)
        assert all(set(m) == FILTER_FIELDS for m in metas)
        texts = store.texts(store.article_ids())
        keys = [parse_vector_id(i) for i in ids]
        rows = store._manifest.sentence_rows(keys)
        spans = []
        for vector_id, key in zip(ids, keys, strict=True):
            assert vector_id == f"{key[0]}:s{key[1]}"
            start, end = rows[key].start, rows[key].end
            span = texts[key[0]][start:end]
            assert span.strip() == span and span, key
            spans.append(span)
        fresh = embedder.embed_documents(spans)
        assert float(np.min(np.sum(fresh * vectors, axis=1))) > 0.98
        # the manifest holds each chunk's vector: the normalised mean of its stored sentences'
        by_key = {key: vectors[i] for i, key in enumerate(keys)}
        chunk_keys = [(a.id, n) for a in store.list_articles() for n in range(a.chunks)]
        chunk_vectors = store._manifest.chunk_vectors(chunk_keys)
        assert set(chunk_vectors) == set(chunk_keys)
        spans_of = store._manifest.chunk_sentences(chunk_keys)
        for (article, number), vector in chunk_vectors.items():
            mean = np.mean([by_key[(article, i)] for i in spans_of[(article, number)]], axis=0)
            assert float(vector @ (mean / np.linalg.norm(mean))) > 0.999
        question = embedder.embed_query("What will the new structure replacing the bridge cost?")
        cosines = store.chunk_similarities(question, [*chunk_keys, ("0" * 16, 0)])
        assert set(cosines) == set(chunk_keys)  # a chunk the manifest lacks is left out
        for key, cosine in cosines.items():
            expected = chunk_vectors[key] @ question / np.linalg.norm(chunk_vectors[key])
            assert cosine == pytest.approx(float(expected), abs=1e-5)

    def test_exact_cosines_by_id_match_the_dense_scores(self, ingested, embedder):
        """What hybrid search uses for candidates HNSW missed: same ids, same scale."""
        store, _ = ingested
        vector = embedder.embed_query("What will the new structure replacing the bridge cost?")
        hits = store.dense_sentences(vector, 30, None)
        keys = [(h.article_id, h.number) for h in hits]
        # an id Chroma lacks is left out
        scores = store.sentence_similarities(vector, [*keys, ("0" * 16, 0)])
        assert len(hits) >= 10 and set(scores) == set(keys)
        for hit, key in zip(hits, keys, strict=True):
            assert scores[key] == pytest.approx(hit.score, abs=1e-4)

    def test_dense_gives_the_same_answers_from_several_threads(self, ingested, embedder):
        """Answering threads share one store: the same query from 24 at once, with and without
        a filter, returns exactly the single query's hits."""
        from concurrent.futures import ThreadPoolExecutor

        store, _ = ingested
        vector = embedder.embed_query("What will the new structure replacing the bridge cost?")
        article = store.dense_sentences(vector, 1, None)[0].article_id
        for where in (None, {"article_id": {"$in": [article]}}):
            expected = store.dense_sentences(vector, 20, where)
            assert expected
            with ThreadPoolExecutor(6) as pool:
                jobs = [pool.submit(store.dense_sentences, vector, 20, where) for _ in range(24)]
                results = [job.result() for job in jobs]
            assert all(result == expected for result in results)
            if where:
                assert {h.article_id for h in expected} == {article}

    def test_bad_files_are_reported_and_good_files_stored(self, store, embedder, tmp_path):
        folder = _copy_samples(tmp_path / "articles")
        (folder / "empty.txt").write_text("", "utf-8")
        (folder / "broken.json").write_text('{"title": "Broken", "text": ', "utf-8")
        pdf = tmp_path / "scan.pdf"
        pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")

        report = ingest_paths(store, embedder, [folder, pdf])
        assert len(report.added) == SAMPLE_COUNT
        failed = {Path(f.origin).name: f.reason for f in report.failed}
        assert set(failed) == {"empty.txt", "broken.json", "scan.pdf"}, report.failed
        assert "empty" in failed["empty.txt"]
        assert "JSON" in failed["broken.json"]
        assert ".pdf" in failed["scan.pdf"]
        for failure in report.failed:
            assert Path(failure.origin).name in str(failure)
        assert len(store.list_articles()) == SAMPLE_COUNT
        self.assert_consistent(store)

    # -- opening --------------------------------------------------------------------------------
    def test_other_model_name_is_refused(self, make_store, embedder):
        first = make_store()
        first.close()
        with pytest.raises(StoreError) as info:
            make_store("other-model", 384)
        message = str(info.value)
        assert "other-model" in message and embedder.name in message
        assert not isinstance(info.value, StoreInUseError)
        # the failed open released the lock: the right model opens fine
        again = make_store()
        assert again.model_name == embedder.name

    def test_collections_search_wider_than_chromas_default(self, store, make_store):
        """Chroma's defaults (ef_construction 100, ef_search 100) missed 5-17 % of the exact 10
        nearest at 1.5 M vectors; new collections are built and searched wider, and a writer
        raises ef_search on older ones (their construction is fixed until rebuilt)."""
        collection = store._vectors.sentences
        assert collection.configuration["hnsw"]["ef_search"] == EF_SEARCH
        assert collection.configuration["hnsw"]["ef_construction"] == EF_CONSTRUCTION > 100
        collection.modify(configuration={"hnsw": {"ef_search": 100}})  # as a 0.x store left it
        stored = store._vectors.client.get_collection(SENTENCES, embedding_function=None)
        assert stored.configuration["hnsw"]["ef_search"] == 100
        store.close()
        again = make_store()
        reopened = again._vectors.client.get_collection(SENTENCES, embedding_function=None)
        assert reopened.configuration["hnsw"]["ef_search"] == EF_SEARCH
        assert EF_SEARCH > 100

    def test_an_older_stores_chunk_vectors_move_into_the_manifest(self, ingested, make_store):
        """Stores made before kept chunk vectors in Chroma (`<collection>_chunks`) and none in
        the manifest: the next writer copies them over and drops the collection (a reader
        leaves both as they are); another store's collection is never touched."""
        store, _ = ingested
        client = store._vectors.client
        settings = store.settings
        assert CHUNKS not in _names(client)  # a new store keeps chunk vectors in its manifest
        keys = [(a.id, n) for a in store.list_articles() for n in range(a.chunks)]
        kept = store._manifest.chunk_vectors(keys)
        assert len(kept) == len(keys)
        old = client.create_collection(
            CHUNKS, embedding_function=None, metadata={"citeqa": "1", "owner": store.store_id}
        )
        old.add(
            ids=[f"{a}:{n}" for a, n in keys],
            embeddings=np.vstack([kept[key] for key in keys]),
            metadatas=[{"article_id": a} for a, _ in keys],
        )
        store._manifest._db.execute("UPDATE chunks SET vector=NULL")  # as an older store
        foreign = client.create_collection(
            FOREIGN_CHUNKS, embedding_function=None, metadata={"owner": "someone-else"}
        )
        foreign.add(ids=["y:0"], embeddings=[[0.1] * 384])
        sentences = store._vectors.count()
        store.close()
        reader = ArticleStore(replace(settings, read_only=True), store.model_name, 384)
        with reader:
            assert CHUNKS in _names(reader._vectors.client)
            assert reader._manifest.chunks_without_vectors() == len(keys)
        again = make_store()
        assert CHUNKS not in _names(again._vectors.client)
        assert FOREIGN_CHUNKS in _names(again._vectors.client)
        assert again._manifest.chunks_without_vectors() == 0
        moved = again._manifest.chunk_vectors(keys)
        assert all(np.array_equal(moved[key], kept[key]) for key in keys)
        assert again._vectors.count() == sentences
        again._vectors.client.delete_collection(FOREIGN_CHUNKS)

    def test_second_store_on_same_home_is_in_use(self, store, make_store):
        with pytest.raises(StoreInUseError, match="in use"):
            make_store()
        # the first store still works
        assert store.is_empty()

    def test_store_in_use_from_another_process(self, store, home):
        settings = self.settings_for(home)
        script = textwrap.dedent(f"""
            import json, sys
            from pathlib import Path
            from vectorstore.settings import Settings
            from vectorstore.store import ArticleStore
            settings = Settings(home=Path({str(home)!r}), chroma_url={settings.chroma_url!r})
            store = ArticleStore(settings, {store.model_name!r}, 384)
            print(json.dumps(store.article_ids()))
            store.close()
        """)
        held = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        assert held.returncode != 0
        assert "in use" in held.stderr
        assert "StoreInUseError" in held.stderr

        store.close()
        free = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        assert free.returncode == 0, free.stderr
        assert json.loads(free.stdout) == []


class TestEmbeddedStore(StoreContract):
    def settings_for(self, home: Path) -> Settings:
        return Settings(home=home)


class TestServerStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, chroma_server):
        self.url = chroma_server

    def settings_for(self, home: Path) -> Settings:
        return Settings(home=home, chroma_url=self.url)

    def cleanup(self, opened: list[ArticleStore]) -> None:
        """Drop the shared collections so the next test starts with no vectors."""
        if not opened:
            return
        client = opened[0]._vectors.client
        for name in (SENTENCES, CHUNKS, FOREIGN_CHUNKS):
            with contextlib.suppress(Exception):  # already gone
                client.delete_collection(name)

    def test_vectors_live_on_the_server(self, ingested, home):
        store, _ = ingested
        assert store.stats().chroma == self.url
        assert not (home / "chroma").exists()
        assert (home / "manifest.sqlite3").is_file()

    def test_another_store_cannot_take_over_the_collections(self, ingested, embedder, tmp_path):
        """Two homes on one server must not share collections: each manifest would be wrong."""
        store, _ = ingested
        before = store._vectors.count()
        with pytest.raises(ChromaError, match="belongs to another citeqa store") as caught:
            open_store(Settings(home=tmp_path / "other", chroma_url=self.url), embedder)
        assert store.store_id in str(caught.value)
        separate = Settings(home=tmp_path / "other", chroma_url=self.url, collection="citeqa-b")
        with open_store(separate, embedder) as other:
            ingest_paths(other, embedder, [SAMPLES / "cold_algae.md"])
            assert other._vectors.count() > 0
            other._vectors.client.delete_collection("citeqa-b_sentences")
        assert store._vectors.count() == before
        self.assert_consistent(store)
