"""BM25 over sentences and chunks, kept beside the store and updated incrementally.

bm25s bakes IDF into its index, so adding articles would mean rebuilding it. Here each ingest
writes one immutable segment of raw term counts (a CSC matrix); document frequencies and the
average length are global and kept up to date in memory, so scores are exact BM25 over the live
collection. Removed articles are tombstoned; small segments are merged (and tombstones purged)
when there are too many, which keeps the per-ingest cost proportional to the batch, not the
collection. Tokenising uses bm25s's English stopword list and PyStemmer's Snowball stemmer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from scipy import sparse

from vectorstore.mapped_npz import MemberSlices, mapped_member

K1 = 1.2
B = 0.75
MAX_SEGMENTS = 8
# segments of at least this many rows pick their best rows by MaxScore pruning (_contenders);
# below it one pass over every row costs less (0.5 vs 1.0 ms a search at 15 k sentences)
PRUNE_FROM_ROWS = 100_000
# segments whose postings take at least this many bytes are read a posting at a time with
# pread; smaller ones stay mapped (a pread per posting costs more than their few pages)
PREAD_FROM_BYTES = 4 << 20
# a merge copies about this many term counts at a time into the new segment's file, so its
# memory stays bounded whatever the segments' size (a whole-matrix merge of a 100 k store's
# sentence segments took +544 MB at its peak)
MERGE_BLOCK = 1 << 20
FLOOR_SAMPLE = 4  # rows of the heaviest terms read for the floor, in multiples of top_k
COPY_MAY_LACK = 0.15  # share of a sentence's terms a copy of it may lack (Jaccard 0.85)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(STOPWORDS_EN)
_stemmer = Stemmer.Stemmer("english")
_EMPTY = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint16))


def tokenize(text: str) -> list[str]:
    words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOP and len(w) < 40]
    return _stemmer.stemWords(words)


@dataclass
class _Segment:
    """One immutable batch of rows. Article ids are held once per article (`names`) and per row
    as an int32 code into them, term counts as uint16: at 1.5 M sentences a row's id as a numpy
    string was 64 bytes and its counts float32 (bench/serve_memory.py; bench/RESULTS.md)."""

    name: str
    names: np.ndarray  # the segment's distinct article ids, sorted (str)
    codes: np.ndarray  # int32 per row: its article's index in `names`
    numbers: np.ndarray  # sentence index or chunk number per row
    counts: sparse.csc_matrix  # rows x vocabulary-at-write-time, uint16 term counts
    lengths: np.ndarray
    live: np.ndarray  # bool per row
    first_row: dict[str, int] | None = None  # article -> its first row (rows are contiguous)
    norm: tuple[float, np.ndarray] | None = None  # (average length, BM25 length norm per row)
    # (row indices, term counts) read a posting at a time from the segment's file, for searches
    # (vectorstore/mapped_npz.py); None for a segment held in memory
    postings: tuple[MemberSlices, MemberSlices] | None = None

    def bury(self, dead: set[str] | None) -> _Segment:
        """Mark the rows of removed articles (the index's tombstones) as not live."""
        if dead:
            self.live &= ~self.rows_of(dead)
        return self

    def articles(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The article id of each row selected by `rows` (indices or a mask)."""
        return self.names[self.codes[rows]]

    def rows_of(self, article_ids: Iterable[str], rows: np.ndarray | None = None) -> np.ndarray:
        """Mask of the rows (all, or those given) that belong to any of `article_ids`."""
        wanted = np.flatnonzero(np.isin(self.names, list(article_ids)))
        return np.isin(self.codes if rows is None else self.codes[rows], wanted)

    def rows_for(self, article_ids: Sequence[str], numbers: np.ndarray) -> np.ndarray:
        """The row holding each (article id, number), -1 where this segment has none; found
        without scanning the segment (an article's rows are contiguous, in number order)."""
        if self.first_row is None:
            present, starts = np.unique(self.codes, return_index=True)
            self.first_row = dict(zip(self.names[present].tolist(), starts.tolist(), strict=True))
        first = np.array([self.first_row.get(a, -1) for a in article_ids], dtype=np.int64)
        found = np.full(len(first), -1, dtype=np.int64)
        at = np.flatnonzero(first >= 0)
        if not len(at):
            return found
        rows = first[at] + numbers[at] - self.numbers[first[at]]
        inside = (rows >= 0) & (rows < len(self.numbers))
        at, rows = at[inside], rows[inside]
        names = np.asarray(article_ids, dtype=object)[at].astype(str)
        same = (self.numbers[rows] == numbers[at]) & (self.names[self.codes[rows]] == names)
        found[at[same]] = rows[same]
        return found

    def posting(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows holding the term, ascending; its count in each); empty for a term newer
        than the segment."""
        if term >= self.counts.shape[1]:
            return _EMPTY
        return self.entries(int(self.counts.indptr[term]), int(self.counts.indptr[term + 1]))

    def entries(self, begin: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """(row, count) of the stored entries begin:end, in term order: read from the file
        where the segment is read that way, else from its map or memory."""
        if self.postings is not None:
            indices, data = self.postings
            return indices.read(begin, end), data.read(begin, end)
        return self.counts.indices[begin:end], self.counts.data[begin:end]

    def length_norm(self, average: float) -> np.ndarray:
        if self.norm is None or self.norm[0] != average:
            self.norm = (average, (K1 * (1 - B + B * self.lengths / average)).astype(np.float32))
        return self.norm[1]


@dataclass(frozen=True)
class _QueryScores:
    """One query's BM25 of every row per segment (None: no term of it is indexed), and the
    rows holding each of its terms, read once for the scores and reused by the pruning."""

    key: tuple[str, int]  # (query, the index's generation)
    scores: list[np.ndarray | None]
    holding: list[dict[int, np.ndarray]]


def _kept(segment: _Segment, rows: np.ndarray, allowed: set[str] | None) -> np.ndarray:
    """Those of `rows` that are live and, under a filter, in an allowed article."""
    if not segment.live.all():
        rows = rows[segment.live[rows]]
    if allowed is not None:
        rows = rows[segment.rows_of(allowed, rows)]
    return rows


def _contenders(
    segment: _Segment,
    allowed: set[str] | None,
    postings: Sequence[np.ndarray],
    weights: np.ndarray,
    scores: np.ndarray,
    top_k: int,
) -> np.ndarray:
    """The live, allowed rows that may be among the `top_k` best, found without a pass over
    every row (MaxScore pruning).

    `postings` and `weights` go lightest term first. A term adds less than its weight to a
    row, so a row holding only the lightest terms, whose weights sum to no more than the
    `top_k`-th best score of some rows, cannot be among the best. The rows of the heaviest
    (rarest) terms give that floor; only rows holding a heavier term are then looked at. At
    1.48 M sentences a question's common terms touch ~10 % of the rows (bench/RESULTS.md).
    The floor's rows are live and allowed ones: a removed or filtered-out row's score is no
    floor for the rows that may be returned.
    """
    sample: list[np.ndarray] = []
    for rows in reversed(postings):  # heaviest first, until a few times top_k rows
        sample.append(rows)
        if sum(len(r) for r in sample) >= FLOOR_SAMPLE * top_k:
            break
    seen = np.unique(np.concatenate(sample)) if sample else np.zeros(0, dtype=np.int64)
    seen = _kept(segment, seen, allowed)
    if len(seen) < top_k:
        return _kept(segment, np.flatnonzero(scores > 0), allowed)
    floor = float(np.partition(scores[seen], len(seen) - top_k)[len(seen) - top_k])
    bound = floor * (1 - 1e-6)  # float32 sums: never drop a row that ties the floor
    light = int(np.searchsorted(np.cumsum(weights, dtype=np.float64), bound, side="right"))
    heavy = [rows for rows in postings[light:] if len(rows)]
    if not heavy:
        return np.zeros(0, dtype=np.int64)
    rows = np.concatenate(heavy)
    return _kept(segment, np.unique(rows[scores[rows] >= max(bound, 1e-30)]), allowed)


def _codes(articles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct article ids, sorted; each row's int32 index into them)."""
    names, codes = np.unique(np.asarray(articles, dtype=str), return_inverse=True)
    return names, codes.astype(np.int32).ravel()


def _term_scores(weight: np.float32, tf: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """One term's BM25 part in each row holding it (`norm`: the rows' length norms), float32."""
    counts = tf.astype(np.float32)
    return weight * counts / (counts + norm)


def _narrow(counts: sparse.csc_matrix) -> sparse.csc_matrix:
    """Term counts as uint16 (segments written before were float32), each term's rows in
    ascending order (`_Segment.posting` is searched by row)."""
    if counts.dtype != np.uint16:
        data = counts.data.astype(np.uint16)
        counts = sparse.csc_matrix((data, counts.indices, counts.indptr), shape=counts.shape)
    if not counts.has_sorted_indices:
        counts.sort_indices()
    return counts


class LexicalIndex:
    """One BM25 field ("sentences" or "chunks") persisted under `folder`."""

    def __init__(self, folder: Path, read_only: bool = False):
        """`read_only`: another process writes the folder; this one loads it as it is."""
        self.folder = folder
        if not read_only:
            self.folder.mkdir(parents=True, exist_ok=True)
            for scratch in self.folder.glob("seg*.merge-*"):  # a merge that was interrupted
                shutil.rmtree(scratch, ignore_errors=True)
        self.lock = threading.RLock()  # searches and writes may come from different threads
        self._vocab_file = folder / "vocab.txt"
        self._vocab: dict[str, int] = {}
        if self._vocab_file.exists():
            for i, term in enumerate(self._vocab_file.read_text("utf-8").splitlines()):
                self._vocab[term] = i
        self._segments: list[_Segment] = []
        self._last: _QueryScores | None = None
        self._generation = 0
        state = self._read_state()
        self._dead: dict[str, set[str]] = {k: set(v) for k, v in state.get("dead", {}).items()}
        for name in state.get("segments", []):
            self._segments.append(self._load_segment(name))
        self._recount()

    # -- writing ---------------------------------------------------------------------------
    def _add_unlocked(self, rows: Sequence[tuple[str, int, str]]) -> None:
        """Add (article_id, number, text) rows as one new segment."""
        if not rows:
            return
        new_terms: list[str] = []
        indices: list[int] = []
        indptr = [0]
        for _, _, text in rows:
            for term in tokenize(text):
                if term not in self._vocab:
                    self._vocab[term] = len(self._vocab)
                    new_terms.append(term)
                indices.append(self._vocab[term])
            indptr.append(len(indices))
        if new_terms:
            with self._vocab_file.open("a", encoding="utf-8") as handle:
                handle.write("".join(f"{t}\n" for t in new_terms))
                handle.flush()
                os.fsync(handle.fileno())
        data = np.ones(len(indices), dtype=np.uint16)
        counts = sparse.csr_matrix(
            (data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
            shape=(len(rows), len(self._vocab)),
        )
        counts.sum_duplicates()
        names, codes = _codes(np.array([r[0] for r in rows]))
        numbers = np.array([r[1] for r in rows], dtype=np.int32)
        segment = self._write_segment(names, codes, numbers, counts.tocsc())
        self._segments.append(segment)
        self._merge_if_needed()
        self._write_state()
        self._recount()

    def _remove_unlocked(self, article_ids: Iterable[str]) -> None:
        ids = set(article_ids)
        if not ids:
            return
        for segment in self._segments:
            hit = segment.rows_of(ids) & segment.live
            if hit.any():
                segment.live &= ~hit
                self._dead.setdefault(segment.name, set()).update(segment.articles(hit).tolist())
        self._write_state()
        self._recount()

    def _article_ids_unlocked(self) -> set[str]:
        out: set[str] = set()
        for segment in self._segments:
            out.update(segment.articles(segment.live).tolist())
        return out

    # -- reading ---------------------------------------------------------------------------
    def _search_unlocked(
        self, query: str, top_k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, int, float]]:
        """Best (article_id, number, score) rows; `allowed` limits the articles searched."""
        scored = self._scored(query)
        by_weight: tuple[list[int], np.ndarray] | None = None  # only for large segments
        hits: list[tuple[str, int, float]] = []
        for segment, scores, holding in zip(
            self._segments, scored.scores, scored.holding, strict=True
        ):
            if scores is None:
                continue
            if len(scores) >= PRUNE_FROM_ROWS:
                by_weight = by_weight or self._by_weight(query)
                terms, weights = by_weight
                postings = [holding[term] for term in terms]
                rows = _contenders(segment, allowed, postings, weights, scores, top_k)
            else:
                rows = _kept(segment, np.flatnonzero(scores > 0), allowed)
            if len(rows) > top_k:
                rows = rows[np.argpartition(-scores[rows], top_k)[:top_k]]
            hits.extend(
                (str(a), int(n), float(v))
                for a, n, v in zip(
                    segment.articles(rows), segment.numbers[rows], scores[rows], strict=True
                )
            )
        hits.sort(key=lambda h: -h[2])
        return hits[:top_k]

    def _scores_for_unlocked(
        self, query: str, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], float]:
        """Exact BM25 of the given (article_id, number) rows (0 where no term matches)."""
        wanted = list(set(keys))
        out = dict.fromkeys(wanted, 0.0)
        if not wanted:
            return out
        articles = [a for a, _ in wanted]
        numbers = np.array([n for _, n in wanted], dtype=np.int64)
        for segment, scores in zip(self._segments, self.score_all(query), strict=True):
            if scores is None:
                continue
            rows = segment.rows_for(articles, numbers)
            at = np.flatnonzero(rows >= 0)
            rows = rows[at]
            keep = segment.live[rows] & (scores[rows] > 0)
            for i, value in zip(at[keep].tolist(), scores[rows[keep]].tolist(), strict=True):
                out[wanted[i]] = float(value)
        return out

    def score_all(self, query: str) -> list[np.ndarray | None]:
        """BM25 of every row, per segment; a search asks this several times per question."""
        return self._scored(query).scores

    def _scored(self, query: str) -> _QueryScores:
        with self.lock:
            key = (query, self._generation)
            if self._last is None or self._last.key != key:
                self._last = self._score_all_unlocked(key)
            return self._last

    def _score_all_unlocked(self, key: tuple[str, int]) -> _QueryScores:
        terms = [self._vocab[t] for t in set(tokenize(key[0])) if t in self._vocab]
        if not terms or self._live_docs == 0:
            return _QueryScores(key, [None] * len(self._segments), [{} for _ in self._segments])
        weights = self._weights(terms)
        results: list[np.ndarray | None] = []
        holding: list[dict[int, np.ndarray]] = []
        for segment in self._segments:
            scores = np.zeros(len(segment.lengths), dtype=np.float32)
            norm = segment.length_norm(self._avg_length)
            rows_of_term: dict[int, np.ndarray] = {}
            for term, weight in zip(terms, weights, strict=True):
                rows, tf = segment.posting(term)
                rows_of_term[term] = rows
                if len(rows):
                    scores[rows] += _term_scores(weight, tf, norm[rows])
            results.append(scores)
            holding.append(rows_of_term)
        return _QueryScores(key, results, holding)

    def _by_weight(self, query: str) -> tuple[list[int], np.ndarray]:
        """The query's known terms, lightest (most common) first, and their weights."""
        terms = [self._vocab[t] for t in set(tokenize(query)) if t in self._vocab]
        weights = self._weights(terms)
        order = np.argsort(weights, kind="stable")
        return [terms[i] for i in order], weights[order]

    def _weights(self, terms: list[int]) -> np.ndarray:
        """BM25's IDF of each term times (K1 + 1), float32 (the scores are float32)."""
        df = self._df[terms]
        return (np.log1p((self._live_docs - df + 0.5) / (df + 0.5)) * (K1 + 1)).astype(np.float32)

    def _similar_unlocked(self, text: str, top_k: int) -> list[tuple[str, int, float]]:
        """Its copies: the rows most like `text` by BM25 of `text`, among the rows holding
        nearly all of its rarest terms (of the rarest quarter, all but the share of terms a
        copy may lack, COPY_MAY_LACK). A copy (word-set Jaccard ≥ 0.85, qa/reports.py) holds
        nearly all of a sentence's terms, so it holds those; scoring only such rows never walks
        the long posting lists of the common terms a sentence is full of."""
        terms = sorted(
            {self._vocab[t] for t in tokenize(text) if t in self._vocab},
            key=lambda term: self._df[term],
        )
        if not terms or self._live_docs == 0:
            return []
        rare = len(terms) // 4 + 1
        # a copy lacks at most ~15 % of the terms: it holds nearly all of the rare ones too
        needed = max(1, rare - int(COPY_MAY_LACK * len(terms)))
        weights = self._weights(terms)
        hits: list[tuple[str, int, float]] = []
        for segment in self._segments:
            postings = [segment.posting(term) for term in terms]
            rows, held = np.unique(
                np.concatenate([postings[i][0] for i in range(rare)]), return_counts=True
            )
            rows = rows[(held >= needed) & segment.live[rows]]
            if not len(rows):
                continue
            scores = np.zeros(len(rows), dtype=np.float32)
            norm = segment.length_norm(self._avg_length)[rows]
            for (holding, counts), weight in zip(postings, weights, strict=True):
                if not len(holding):
                    continue
                at = np.minimum(np.searchsorted(holding, rows), len(holding) - 1)
                found = holding[at] == rows
                scores[found] += _term_scores(weight, counts[at[found]], norm[found])
            best = np.argsort(-scores, kind="stable")[:top_k]
            hits.extend(
                (str(a), int(n), float(v))
                for a, n, v in zip(
                    segment.articles(rows[best]),
                    segment.numbers[rows[best]],
                    scores[best],
                    strict=True,
                )
            )
        hits.sort(key=lambda h: -h[2])
        return hits[:top_k]

    def _coverage_unlocked(self, query: str, text: str) -> float:
        """Share of the query's IDF weight whose terms occur in `text` (unknown terms weigh most).

        A question about something the collection never mentions has rare terms no evidence
        contains; this is one of the signals for abstaining.
        """
        terms = set(tokenize(query))
        if not terms:
            return 0.0
        present = set(tokenize(text))
        top = float(np.log1p(self._live_docs + 0.5)) or 1.0
        weights = {}
        for term in terms:
            idx = self._vocab.get(term)
            df = self._df[idx] if idx is not None and idx < len(self._df) else 0.0
            weights[term] = float(np.log1p((self._live_docs - df + 0.5) / (df + 0.5))) or top
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total if total else 0.0

    # -- thread-safe entry points ----------------------------------------------------------
    def add(self, rows: Sequence[tuple[str, int, str]]) -> None:
        """Add (article_id, number, text) rows as one new segment."""
        with self.lock:
            self._add_unlocked(rows)

    def remove(self, article_ids: Iterable[str]) -> None:
        with self.lock:
            self._remove_unlocked(article_ids)

    def search(
        self, query: str, top_k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, int, float]]:
        """Best (article_id, number, score) rows; `allowed` limits the articles searched."""
        with self.lock:
            return self._search_unlocked(query, top_k, allowed)

    def scores_for(
        self, query: str, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], float]:
        """Exact BM25 of the given (article_id, number) rows (0 where no term matches)."""
        with self.lock:
            return self._scores_for_unlocked(query, keys)

    def similar(self, text: str, top_k: int) -> list[tuple[str, int, float]]:
        """Best (article_id, number, score) rows for `text` among those holding nearly all of
        its rarest terms: its copies, found cheaply (who else reported a sentence)."""
        with self.lock:
            return self._similar_unlocked(text, top_k)

    def coverage(self, query: str, text: str) -> float:
        with self.lock:
            return self._coverage_unlocked(query, text)

    def article_ids(self) -> set[str]:
        with self.lock:
            return self._article_ids_unlocked()

    def __len__(self) -> int:
        return self._live_docs

    # -- persistence -----------------------------------------------------------------------
    def _recount(self) -> None:
        df = np.zeros(len(self._vocab), dtype=np.float64)
        total_length = 0.0
        live = 0
        for segment in self._segments:
            live_rows = segment.counts[segment.live] if not segment.live.all() else segment.counts
            present = np.diff(live_rows.tocsc().indptr) if live_rows.shape[0] else None
            if present is not None:
                df[: len(present)] += present
            total_length += float(segment.lengths[segment.live].sum())
            live += int(segment.live.sum())
        self._df = df
        self._generation += 1  # invalidates cached scores
        self._live_docs = live
        self._avg_length = total_length / live if live else 1.0

    def _merge_if_needed(self) -> None:
        """Merge the smaller half of the segments into one, without their removed rows."""
        if len(self._segments) <= MAX_SEGMENTS:
            return
        by_size = sorted(self._segments, key=lambda s: len(s.lengths))
        small = by_size[: len(by_size) // 2 + 1]
        names = np.unique(np.concatenate([s.names for s in small]))
        codes = [np.searchsorted(names, s.names).astype(np.int32)[s.codes[s.live]] for s in small]
        merged = self._write_merged(
            small,
            names,
            np.concatenate(codes),
            np.concatenate([s.numbers[s.live] for s in small]),
            np.concatenate([s.lengths[s.live] for s in small]).astype(np.float32),
        )
        keep = [s for s in self._segments if s not in small]
        self._segments = [*keep, merged]
        self._write_state()
        for segment in small:
            (self.folder / f"{segment.name}.npz").unlink(missing_ok=True)

    def _write_merged(
        self,
        small: list[_Segment],
        names: np.ndarray,
        codes: np.ndarray,
        numbers: np.ndarray,
        lengths: np.ndarray,
    ) -> _Segment:
        """One segment of `small`'s live rows, in their order, written a block of terms at a
        time: each block's counts are read from the segments (pread or their maps) into
        scratch files beside the index, which np.savez then copies in chunks."""
        width = len(self._vocab)
        starts, row = [], 0  # each segment's row -> its row in the merged segment (-1: removed)
        for segment in small:
            starts.append(np.where(segment.live, np.cumsum(segment.live) - 1 + row, -1))
            row += int(segment.live.sum())
        total = sum(int(s.counts.indptr[-1]) for s in small)
        by_term = np.zeros(width + 1, dtype=np.int64)  # entries up to each term, all segments
        for segment in small:
            indptr = np.asarray(segment.counts.indptr, dtype=np.int64)
            by_term[: len(indptr)] += indptr
            by_term[len(indptr) :] += indptr[-1]
        cuts = np.unique(np.searchsorted(by_term, np.arange(0, total, MERGE_BLOCK), "right") - 1)
        bounds = [*(int(c) for c in cuts if 0 < c < width), width]
        held = np.zeros(width, dtype=np.int64)  # live entries per term
        name = self._next_segment_name()
        with tempfile.TemporaryDirectory(dir=self.folder, prefix=f"{name}.merge-") as scratch:
            size = max(total, 1)
            rows_out = np.lib.format.open_memmap(
                Path(scratch) / "indices.npy", "w+", np.int32, (size,)
            )
            counts_out = np.lib.format.open_memmap(
                Path(scratch) / "data.npy", "w+", np.uint16, (size,)
            )
            written, first = 0, 0
            for last in bounds:
                rows, terms, counts = [], [], []
                for segment, new_row in zip(small, starts, strict=True):
                    indptr = segment.counts.indptr
                    a, b = min(first, len(indptr) - 1), min(last, len(indptr) - 1)
                    if a == b:
                        continue
                    old_rows, old_counts = segment.entries(int(indptr[a]), int(indptr[b]))
                    term = np.repeat(np.arange(a, b, dtype=np.int32), np.diff(indptr[a : b + 1]))
                    mapped = new_row[old_rows]
                    alive = mapped >= 0
                    rows.append(mapped[alive].astype(np.int32))
                    terms.append(term[alive])
                    counts.append(np.asarray(old_counts[alive], dtype=np.uint16))
                if rows:
                    term = np.concatenate(terms)
                    order = np.argsort(term, kind="stable")  # by term, then row (segment order)
                    n = len(order)
                    rows_out[written : written + n] = np.concatenate(rows)[order]
                    counts_out[written : written + n] = np.concatenate(counts)[order]
                    held[first:last] = np.bincount(term - first, minlength=last - first)
                    written += n
                first = last
            wide = written >= np.iinfo(np.int32).max
            indptr = np.concatenate([[0], np.cumsum(held)]).astype(np.int64 if wide else np.int32)
            self._save_segment(
                name,
                names=names,
                codes=codes,
                numbers=numbers,
                data=counts_out[:written],
                indices=rows_out[:written],
                indptr=indptr,
                shape=np.array((len(codes), width)),
                lengths=lengths,
            )
            del rows_out, counts_out
        return self._load_segment(name)

    def _next_segment_name(self) -> str:
        """A new segment's file name; the counter is saved first so no two writes share it."""
        state = self._read_state()
        number = int(state.get("next", 0))
        self._write_json(self.folder / "state.json", {**state, "next": number + 1})
        return f"seg{number:06d}"

    def _save_segment(self, name: str, **arrays: np.ndarray) -> None:
        """Write under a temporary name and rename: a reader never sees half a segment."""
        tmp = self.folder / f"{name}.tmp.npz"
        np.savez(tmp, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as its allow_pickle flag
        os.replace(tmp, self.folder / f"{name}.npz")

    def _write_segment(
        self, names: np.ndarray, codes: np.ndarray, numbers: np.ndarray, counts: sparse.csc_matrix
    ) -> _Segment:
        name = self._next_segment_name()
        lengths = np.asarray(counts.sum(axis=1)).ravel().astype(np.float32)
        counts = _narrow(counts)
        self._save_segment(
            name,
            names=names,
            codes=codes,
            numbers=numbers,
            data=counts.data,
            indices=counts.indices,
            indptr=counts.indptr,
            shape=np.array(counts.shape),
            lengths=lengths,
        )
        return _Segment(name, names, codes, numbers, counts, lengths, np.ones(len(codes), bool))

    def _load_segment(self, name: str) -> _Segment:
        """A segment's term counts and row indices stay in its file: searches of a large segment
        read a posting at a time from it, everything else maps it (vectorstore/mapped_npz.py);
        the rest is read. Segments written before article codes and uint16 counts (an id string
        per row, float32 counts) are converted as they load, in memory; merges rewrite them in
        the new form."""
        path = self.folder / f"{name}.npz"
        with np.load(path) as z:
            data, indices = mapped_member(path, "data"), mapped_member(path, "indices")
            mapped = data is not None and indices is not None and data.dtype == np.uint16
            if not mapped:
                data, indices = z["data"], z["indices"]
            counts = sparse.csc_matrix((data, indices, z["indptr"]), shape=tuple(z["shape"]))
            if mapped:
                # written by _write_segment after _narrow sorted them: scipy's own check
                # would read every page of the map
                counts.has_sorted_indices = True
            names, codes = (z["names"], z["codes"]) if "codes" in z.files else _codes(z["articles"])
            live = np.ones(len(codes), dtype=bool)
            segment = _Segment(
                name, names, codes, z["numbers"], _narrow(counts), z["lengths"], live
            )
            if mapped and counts.indices.nbytes + counts.data.nbytes >= PREAD_FROM_BYTES:
                segment.postings = (MemberSlices(path, "indices"), MemberSlices(path, "data"))
        return segment.bury(self._dead.get(name))

    def _read_state(self) -> dict:
        path = self.folder / "state.json"
        return json.loads(path.read_text("utf-8")) if path.exists() else {}

    def _write_state(self) -> None:
        state = self._read_state()
        state["segments"] = [s.name for s in self._segments]
        names = {s.name for s in self._segments}
        state["dead"] = {k: sorted(v) for k, v in self._dead.items() if k in names and v}
        self._write_json(self.folder / "state.json", state)

    @staticmethod
    def _write_json(path: Path, value: dict) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(value), "utf-8")
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def _widen(matrix: sparse.spmatrix, width: int) -> sparse.csc_matrix:
    matrix = sparse.csc_matrix(matrix)
    if matrix.shape[1] == width:
        return matrix
    return sparse.csc_matrix(
        (
            matrix.data,
            matrix.indices,
            np.concatenate([matrix.indptr, np.full(width - matrix.shape[1], matrix.indptr[-1])]),
        ),
        shape=(matrix.shape[0], width),
    )
