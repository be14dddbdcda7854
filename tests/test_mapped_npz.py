"""Arrays of an uncompressed .npz read as memory maps, and BM25 segments that use them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_lexical import QUERIES, ROWS, assert_same_hits
from vectorstore.lexical import MAX_SEGMENTS, LexicalIndex
from vectorstore.mapped_npz import mapped_member

pytestmark = pytest.mark.unit


def test_a_stored_member_maps_to_the_same_values(tmp_path):
    path = tmp_path / "a.npz"
    rng = np.random.default_rng(3)
    arrays = {
        "counts": rng.integers(0, 60_000, size=10_001).astype(np.uint16),
        "rows": rng.integers(0, 2**31 - 1, size=777).astype(np.int32),
        "grid": np.asfortranarray(rng.random((13, 7))),
        "empty": np.zeros(0, dtype=np.int32),
    }
    np.savez(path, **arrays)
    for name, expected in arrays.items():
        got = mapped_member(path, name)
        assert got is not None
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    assert isinstance(mapped_member(path, "counts"), np.memmap)
    assert mapped_member(path, "absent") is None


def test_compressed_and_object_members_are_left_to_np_load(tmp_path):
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, counts=np.arange(100, dtype=np.uint16))
    assert mapped_member(packed, "counts") is None
    objects = tmp_path / "objects.npz"
    np.savez(objects, names=np.array(["a", None], dtype=object))
    assert mapped_member(objects, "names") is None


def test_a_reopened_index_maps_its_counts_and_scores_the_same(tmp_path):
    folder = tmp_path / "lex"
    index = LexicalIndex(folder)
    index.add(ROWS[:6])
    index.add(ROWS[6:])
    reopened = LexicalIndex(folder, read_only=True)
    for segment in reopened._segments:
        assert _file_backed(segment.counts.data) and _file_backed(segment.counts.indices)
    for query in QUERIES:
        assert_same_hits(reopened.search(query, top_k=10), index.search(query, top_k=10))


def test_a_reader_keeps_answering_while_a_writer_merges_its_mapped_segments(tmp_path):
    """A merge deletes the segment files a reader has mapped: the reader's maps stay valid
    (the kernel keeps an unlinked file while it is mapped), and a reopen sees the merge."""
    folder = tmp_path / "lex"
    writer = LexicalIndex(folder)
    for row in ROWS[:4]:
        writer.add([row])
    reader = LexicalIndex(folder, read_only=True)
    before = {q: reader.search(q, top_k=10) for q in QUERIES}
    for row in ROWS[4:]:  # more than MAX_SEGMENTS segments in all: the old ones are merged
        writer.add([row])
    assert len(ROWS) > MAX_SEGMENTS
    assert not all((folder / f"{s.name}.npz").exists() for s in reader._segments)
    for query in QUERIES:
        assert reader.search(query, top_k=10) == before[query]
        assert_same_hits(
            LexicalIndex(folder, read_only=True).search(query, top_k=10),
            writer.search(query, top_k=10),
        )


def _file_backed(array: np.ndarray) -> bool:
    """Whether `array`'s memory is a view of a np.memmap (a mapped file)."""
    base = array
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = base.base
    return False
