"""Arrays of an uncompressed .npz read in place (mapped, or a slice at a time), and BM25
segments that use them."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_lexical import QUERIES, ROWS, assert_same_hits
from vectorstore import lexical
from vectorstore.lexical import MAX_SEGMENTS, LexicalIndex
from vectorstore.mapped_npz import MemberSlices, mapped_member

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


def test_slices_of_a_stored_member_are_read_from_the_file(tmp_path):
    path = tmp_path / "a.npz"
    rows = np.random.default_rng(5).integers(0, 2**31 - 1, size=5_000).astype(np.int32)
    np.savez(path, rows=rows, grid=np.zeros((3, 4)), empty=np.zeros(0, dtype=np.uint16))
    slices = MemberSlices(path, "rows")
    assert len(slices) == len(rows)
    for begin, end in [(0, 1), (17, 4_321), (4_999, 5_000), (0, 5_000)]:
        got = slices.read(begin, end)
        assert got.dtype == np.int32 and not got.flags.writeable
        np.testing.assert_array_equal(got, rows[begin:end])
    np.testing.assert_array_equal(slices.read(4_990, 9_999), rows[4_990:])  # clamped
    assert len(slices.read(30, 30)) == 0 and len(slices.read(40, 30)) == 0
    assert len(MemberSlices(path, "empty").read(0, 10)) == 0
    for member in ("grid", "absent"):
        with pytest.raises(ValueError, match=member):
            MemberSlices(path, member)
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, rows=rows)
    with pytest.raises(ValueError, match=r"packed\.npz"):
        MemberSlices(packed, "rows")


def test_a_slice_past_the_end_of_a_truncated_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "cut.npz"
    np.savez(path, rows=np.arange(10_000, dtype=np.int32))
    slices = MemberSlices(path, "rows")
    with path.open("r+b") as handle:
        handle.truncate(slices.layout.offset + 400)
    np.testing.assert_array_equal(slices.read(0, 100), np.arange(100))
    with pytest.raises(ValueError, match=r"cut\.npz"):
        slices.read(50, 200)


def test_searches_read_postings_without_keeping_the_mapped_pages(tmp_path, monkeypatch):
    """A serving process reads each posting of a large segment with pread: after many searches,
    the segment files' maps (kept for a writer's whole-matrix work) hold no resident page."""
    monkeypatch.setattr(lexical, "PREAD_FROM_BYTES", 0)  # every segment counts as large
    folder = tmp_path / "lex"
    index = LexicalIndex(folder)
    index.add(ROWS[:6])
    index.add(ROWS[6:])
    reopened = LexicalIndex(folder, read_only=True)
    for query in QUERIES:
        assert_same_hits(reopened.search(query, top_k=10), index.search(query, top_k=10))
        assert reopened.scores_for(query, [(a, n) for a, n, _ in ROWS]) == index.scores_for(
            query, [(a, n) for a, n, _ in ROWS]
        )
    assert all(segment.postings is not None for segment in reopened._segments)
    mapped = _resident_kb(folder)
    assert mapped and all(kb == 0 for kb in mapped.values()), mapped
    np.asarray(reopened._segments[0].counts.data).sum()  # touching the map does count
    assert any(kb > 0 for kb in _resident_kb(folder).values())


def _resident_kb(folder) -> dict[str, int]:
    """Resident kB of each mapping of a file under `folder`, by address range (/proc/self/smaps)."""
    out: dict[str, int] = {}
    mapping = None
    with open("/proc/self/smaps", encoding="utf-8") as smaps:
        for line in smaps:
            fields = line.split()
            if not fields[0].endswith(":"):  # a mapping's header: range, perms, ..., path
                path = fields[5] if len(fields) >= 6 else ""
                mapping = f"{path}@{fields[0]}" if path.startswith(str(folder)) else None
            elif mapping and fields[0] == "Rss:":
                out[mapping] = int(fields[1])
    return out


def test_a_reopened_index_maps_its_counts_and_scores_the_same(tmp_path):
    folder = tmp_path / "lex"
    index = LexicalIndex(folder)
    index.add(ROWS[:6])
    index.add(ROWS[6:])
    reopened = LexicalIndex(folder, read_only=True)
    for segment in reopened._segments:
        assert _file_backed(segment.counts.data) and _file_backed(segment.counts.indices)
        assert segment.postings is None  # small segments are searched through the map
    for query in QUERIES:
        assert_same_hits(reopened.search(query, top_k=10), index.search(query, top_k=10))


@pytest.mark.parametrize("pread_from_bytes", [0, lexical.PREAD_FROM_BYTES])
def test_a_reader_keeps_answering_while_a_writer_merges_its_mapped_segments(
    tmp_path, monkeypatch, pread_from_bytes
):
    """A merge deletes the segment files a reader has mapped or opened: the reader's maps and
    files stay valid (the kernel keeps an unlinked file while it is mapped or open), and a
    reopen sees the merge."""
    monkeypatch.setattr(lexical, "PREAD_FROM_BYTES", pread_from_bytes)
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
