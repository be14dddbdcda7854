"""Everything that touches Chroma lives here: clients, collections, batched writes, queries.

Chroma never embeds anything for us: collections are opened with no embedding function and
every write and query passes vectors, so Chroma's default model (a download) never runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb
from chromadb.config import Settings as ChromaSettings

from vectorstore.errors import CiteqaError
from vectorstore.ids import parse_vector_id

DEFAULT_COLLECTION = "citeqa"
SENTENCES = f"{DEFAULT_COLLECTION}_sentences"  # the default collection name
Where = dict[str, Any]
# HNSW settings, measured by bench/chroma_settings.py (bench/RESULTS.md): dense recall@10 against
# exact search at 1.5 M vectors was 0.948 with Chroma's construction (ef_construction 100) and
# ef_search 400, 0.968 at ef_search 800; 0.989 / 0.993 with ef_construction 400. The better graph
# costs 0.34 -> 0.79 ms an upsert row at 1.5 M (Chroma's share of a 100 k ingest stays under 40 %)
# and +0.6 ms a query. ef_construction is fixed when a collection is made (older stores keep
# theirs until rebuilt); ef_search is read when Chroma loads the index, and a writer raises it on
# older collections. M, flush and sync thresholds and the upsert batch size did not help.
EF_CONSTRUCTION = 400
EF_SEARCH = 800


def cosines(vector: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Cosine of `vector` with each row of `matrix` (a zero row scores 0)."""
    query = np.asarray(vector, dtype=np.float32).ravel()
    query = query / (float(np.linalg.norm(query)) or 1.0)
    norms = np.linalg.norm(matrix, axis=1)
    return np.asarray(matrix @ query / np.where(norms > 0, norms, 1.0))


class ChromaError(RuntimeError, CiteqaError):
    """Chroma could not be reached or refused an operation; the message says which."""


@dataclass(frozen=True)
class VectorHit:
    id: str
    score: float  # cosine similarity
    article_id: str
    number: int  # sentence index or chunk number, from the id


class ChromaVectors:
    """The collection citeqa keeps in Chroma: one vector per sentence.

    Chunk vectors (the mean of their sentences') live in the manifest instead: nothing searches
    them by nearness, only candidates' chunks are scored, and in Chroma they were 17 % of the
    rows, upserts and index memory (bench/RESULTS.md, "Do the chunk vectors need to live in
    Chroma?"). Stores made before keep them in `<collection>_chunks`, which a writer moves into
    the manifest and drops (`legacy_chunk_vectors`, `drop_legacy_chunks`).
    """

    def __init__(
        self,
        path: Path | None = None,
        url: str | None = None,
        collection: str = DEFAULT_COLLECTION,
        owner: str = "",
        read_only: bool = False,
    ):
        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self.embedded = not url
        try:
            if url:
                parsed = urlparse(url if "://" in url else f"http://{url}")
                self.client = chromadb.HttpClient(
                    host=parsed.hostname or "localhost",
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=settings,
                )
                self.client.heartbeat()
            else:
                assert path is not None
                self.client = chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as err:
            where = url or str(path)
            raise ChromaError(f"cannot open Chroma at {where}: {err}") from None
        self.max_batch = int(self.client.get_max_batch_size())
        self.write_seconds = 0.0  # time spent in Chroma's upserts (bench/scale.py reports it)
        self.where = url or str(path)
        self.read_only = read_only
        self._owner = owner
        self.sentences = self._collection(f"{collection}_sentences", owner)
        self._legacy_chunks = f"{collection}_chunks"

    def close(self) -> None:
        """Release an embedded Chroma. Chroma keeps one in-memory index per folder per process;
        kept after the store's lock is released, it would go stale while another process writes,
        and a later open in this process would query vectors long deleted."""
        close = getattr(self.client, "close", None)  # Client.close: recent chromadb 1.x
        if self.embedded and close is not None:
            close()

    def _collection(self, name: str, owner: str) -> Any:
        """Open or create a collection, refusing one that another citeqa store writes.

        A store's manifest and BM25 index describe exactly the vectors in its collections; a
        second store writing the same collections (easy with one shared server) would break
        that silently, so each collection records the id of the store that owns it.
        """
        if self.read_only:
            try:
                collection = self.client.get_collection(name=name, embedding_function=None)
            except Exception as err:
                raise ChromaError(
                    f"no collection {name!r} at {self.where} to read ({err})"
                ) from None
        else:
            collection = self.client.get_or_create_collection(
                name=name,
                embedding_function=None,
                configuration={
                    "hnsw": {
                        "space": "cosine",
                        "ef_construction": EF_CONSTRUCTION,
                        "ef_search": EF_SEARCH,
                    }
                },
                metadata={"citeqa": "1", "owner": owner} if owner else {"citeqa": "1"},
            )
        found = (collection.metadata or {}).get("owner")
        if owner and found and found != owner:
            raise ChromaError(
                f"the Chroma collection {name!r} at {self.where} belongs to another citeqa "
                f"store (id {found}, this one is {owner}); give each store its own collections "
                f"with CITEQA_COLLECTION, or open the store that owns them"
            )
        if owner and not found and not self.read_only:  # made by a citeqa without owners
            collection.modify(metadata={"citeqa": "1", "owner": owner})
        hnsw = (collection.configuration or {}).get("hnsw") or {}
        if not self.read_only and hnsw.get("ef_search", EF_SEARCH) != EF_SEARCH:
            collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})  # older stores
        return collection

    def _legacy_collection(self) -> Any | None:
        """This store's chunk-vector collection from an older citeqa, if there is one."""
        try:
            old = self.client.get_collection(name=self._legacy_chunks, embedding_function=None)
        except Exception:
            return None  # none: the usual case
        found = (old.metadata or {}).get("owner")
        return old if not self._owner or not found or found == self._owner else None

    def legacy_chunk_vectors(self) -> Iterator[list[tuple[str, np.ndarray]]] | None:
        """Pages of (id, vector) of an older store's chunk collection; None when it has none."""
        old = self._legacy_collection()
        if old is None:
            return None

        return (
            list(zip(page["ids"], np.asarray(page["embeddings"], dtype=np.float32), strict=True))
            for page in self._pages(old, "embeddings")
        )

    def _pages(self, collection: Any, include: str) -> Iterator[Any]:
        """A whole collection, `max_batch` rows a page (ids and `include`)."""
        offset = 0
        while True:
            page = collection.get(include=[include], limit=self.max_batch, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def recreate_sentences(self) -> None:
        """Drop the sentence collection and make it again, empty (its index was torn)."""
        name = self.sentences.name
        self.client.delete_collection(name=name)
        self.sentences = self._collection(name, self._owner)

    def drop_legacy_chunks(self) -> None:
        if self._legacy_collection() is not None:
            self.client.delete_collection(name=self._legacy_chunks)

    def add(
        self,
        collection: Any,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[dict[str, Any]],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Upsert in batches no larger than the server's maximum batch size.

        Vectors and filter metadata only: the text lives in citeqa's manifest, so Chroma does not
        keep a second copy nor index it for full-text search (which cost ~15 % of ingest time),
        and positions are in the ids (each metadata field costs Chroma ~0.07 ms per row).
        """
        for begin in range(0, len(ids), self.max_batch):
            end = begin + self.max_batch
            started = time.perf_counter()
            collection.upsert(
                ids=list(ids[begin:end]),
                embeddings=vectors[begin:end],
                metadatas=list(metadatas[begin:end]),
            )
            self.write_seconds += time.perf_counter() - started
            if progress:
                progress(min(end, len(ids)) - begin)

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        for begin in range(0, len(article_ids), 100):
            batch = list(article_ids[begin : begin + 100])
            where: Where = {"article_id": {"$in": batch}}
            self.sentences.delete(where=where)

    def query(
        self, collection: Any, vector: np.ndarray, k: int, where: Where | None = None
    ) -> list[VectorHit]:
        if k <= 0:
            return []
        # no count() first: it costs as much as the query, and Chroma returns what it has
        result = collection.query(
            query_embeddings=[vector],
            n_results=k,
            where=where or None,
            include=["distances"],
        )
        if not result["ids"]:
            return []
        ids = result["ids"][0]
        distances = result["distances"][0] if result["distances"] else [1.0] * len(ids)
        return [
            VectorHit(i, 1.0 - float(d), *parse_vector_id(i))
            for i, d in zip(ids, distances, strict=True)
        ]

    def similarities(
        self, collection: Any, vector: np.ndarray, ids: Sequence[str]
    ) -> dict[str, float]:
        """Exact cosine of `vector` with the stored vectors of `ids` (`query`'s 1 - distance).

        HNSW is approximate: a query can miss a vector that is among the true nearest. Hybrid
        search scores such candidates (found by BM25) with their exact cosine fetched here by id,
        in one `get` per batch. Ids Chroma does not hold are left out of the result.
        """
        out: dict[str, float] = {}
        unique = list(dict.fromkeys(ids))
        for begin in range(0, len(unique), self.max_batch):
            batch = unique[begin : begin + self.max_batch]
            page = collection.get(ids=batch, include=["embeddings"])
            found = page.get("embeddings")
            if found is None or not len(page["ids"]):
                continue
            matrix = np.asarray(found, dtype=np.float32).reshape(len(page["ids"]), -1)
            scores = cosines(vector, matrix)
            out.update(zip(page["ids"], (float(c) for c in scores), strict=True))
        return out

    def article_ids(self) -> set[str]:
        """Every article id with vectors (used by consistency checks, not on the hot path)."""
        out: set[str] = set()
        for page in self._pages(self.sentences, "metadatas"):
            out.update(str(m["article_id"]) for m in page["metadatas"] or [])
        return out

    def count(self) -> int:
        return int(self.sentences.count())
