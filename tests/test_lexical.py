"""Unit tests for vectorstore.lexical.LexicalIndex (persisted BM25 with segments)."""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vectorstore import lexical
from vectorstore.lexical import MAX_SEGMENTS, LexicalIndex, tokenize

pytestmark = pytest.mark.unit

ROWS = [
    ("bridge", 0, "The Old Tanner Bridge will be demolished and replaced."),
    ("bridge", 1, "The council voted 11 to 4 on Thursday evening."),
    ("storm", 0, "Storm Corvin brought record rainfall and flooding to Westmarch."),
    ("storm", 1, "The River Sable peaked at 4.87 metres at the Aldwick gauge."),
    ("algae", 0, "Researchers found algae that thrives in near-freezing water."),
    ("algae", 1, "The algae doubled its biomass every 31 hours."),
    ("cup", 0, "Kestrel Vale Rovers won the Northfold Cup on penalties."),
    ("cup", 1, "Goalkeeper Ida Solberg saved two penalties in the shootout."),
    ("trial", 0, "A former treasurer was jailed for stealing from the rowing club."),
    ("trial", 1, "The jury took just under five hours to reach a verdict."),
    ("tidal", 0, "Helix Tidal Power raised money to expand its turbine array."),
    ("tidal", 1, "The turbines will be installed in Selwick Sound next year."),
]

QUERIES = [
    "bridge demolished",
    "rainfall flooding",
    "algae biomass",
    "penalties shootout",
    "jury verdict",
    "turbine array",
    "council voted Thursday",
    "the water",
]


def keys(hits: list[tuple[str, int, float]]) -> list[tuple[str, int]]:
    return [(a, n) for a, n, _ in hits]


def assert_same_hits(
    got: list[tuple[str, int, float]], expected: list[tuple[str, int, float]]
) -> None:
    """Same rows with the same scores; rows with tied scores may come in either order."""
    got, expected = sorted(got), sorted(expected)
    assert keys(got) == keys(expected)
    assert [s for _, _, s in got] == pytest.approx([s for _, _, s in expected])


def test_tokenize_stems_and_drops_stopwords():
    tokens = tokenize("The bridges were demolished, and THE Bridge is gone!")
    assert "the" not in tokens and "and" not in tokens
    assert tokens.count("bridg") == 2
    assert tokenize("") == []
    assert tokenize("x" * 45) == []  # over-long tokens are dropped


def test_search_ranks_matching_row_first(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    assert len(index) == len(ROWS)
    hits = index.search("rainfall and flooding in Westmarch", top_k=5)
    assert hits[0][:2] == ("storm", 0)
    assert hits[0][2] > 0
    assert [h[2] for h in hits] == sorted((h[2] for h in hits), reverse=True)
    assert index.search("penalties", top_k=5)[0][0] == "cup"
    assert index.search("zzzunknownword", top_k=5) == []
    assert index.search("", top_k=5) == []


def test_search_top_k_limits_results(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    everything = index.search("the algae turbines penalties jury", top_k=100)
    assert len(everything) > 3
    top3 = index.search("the algae turbines penalties jury", top_k=3)
    assert keys(top3) == keys(everything[:3])


def test_scores_for_matches_search(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    hits = index.search("algae biomass", top_k=10)
    scores = index.scores_for(
        "algae biomass", [("algae", 0), ("algae", 1), ("cup", 0), ("nope", 9)]
    )
    assert set(scores) == {("algae", 0), ("algae", 1), ("cup", 0), ("nope", 9)}
    for article, number, score in hits:
        assert scores[(article, number)] == pytest.approx(score)
    assert scores[("algae", 1)] > scores[("algae", 0)] > 0
    assert scores[("cup", 0)] == 0.0
    assert scores[("nope", 9)] == 0.0


def test_scores_for_ids_that_only_share_a_prefix_with_stored_articles(tmp_path):
    """Rows are found by article id; an id that a stored one starts with, or that starts with
    a stored one, is another article (and finds nothing)."""
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    keys = [("algae", 1), ("algaes", 1), ("alga", 1), ("", 0), ("zzz", 0), ("algae", 7)]
    for reopened in (index, LexicalIndex(tmp_path / "lex", read_only=True)):
        scores = reopened.scores_for("algae biomass", keys)
        assert scores[("algae", 1)] > 0
        assert [scores[k] for k in keys[1:]] == [0.0] * 5


def test_bm25_score_matches_formula(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    rows = [("a", 0, "apple banana"), ("b", 0, "banana cherry cherry"), ("c", 0, "durian")]
    index.add(rows)
    n_docs, avg = 3, (2 + 3 + 1) / 3
    df = 1
    idf = math.log1p((n_docs - df + 0.5) / (df + 0.5))
    tf, length = 2, 3
    expected = idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / avg))
    assert index.scores_for("cherry", [("b", 0)])[("b", 0)] == pytest.approx(expected, rel=1e-5)


def test_remove_tombstones_article(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    index.remove(["storm"])
    assert "storm" not in index.article_ids()
    assert len(index) == len(ROWS) - 2
    for query in ["rainfall flooding Westmarch", "River Sable Aldwick gauge", *QUERIES]:
        assert all(a != "storm" for a, _, _ in index.search(query, top_k=50))
    assert index.scores_for("rainfall", [("storm", 0)]) == {("storm", 0): 0.0}
    index.remove([])  # no-op
    index.remove(["never-added"])
    assert len(index) == len(ROWS) - 2


def test_remove_survives_reopen(tmp_path):
    folder = tmp_path / "lex"
    index = LexicalIndex(folder)
    index.add(ROWS)
    index.remove(["storm", "cup"])
    reopened = LexicalIndex(folder)
    assert reopened.article_ids() == index.article_ids()
    assert "storm" not in reopened.article_ids()
    assert reopened.search("rainfall penalties", top_k=10) == []
    for query in QUERIES:
        assert_same_hits(reopened.search(query, top_k=10), index.search(query, top_k=10))


def test_readd_removed_article_and_reopen(tmp_path):
    folder = tmp_path / "lex"
    index = LexicalIndex(folder)
    index.add(ROWS)
    index.remove(["storm"])
    new_rows = [
        ("storm", 0, "Storm Corvin moved north overnight, forecasters said."),
        ("storm", 1, "Snow is expected on the hills of Westmarch."),
    ]
    index.add(new_rows)
    assert "storm" in index.article_ids()
    assert len(index) == len(ROWS)
    hits = index.search("rainfall flooding", top_k=10)
    assert all(a != "storm" for a, _, _ in hits)  # the old text is gone
    assert index.search("snow hills", top_k=1)[0][:2] == ("storm", 1)

    for reopened in (LexicalIndex(folder), LexicalIndex(folder)):
        assert reopened.article_ids() == index.article_ids()
        assert len(reopened) == len(ROWS)
        assert all(a != "storm" for a, _, _ in reopened.search("rainfall flooding", top_k=10))
        assert reopened.search("River Sable Aldwick gauge", top_k=10) == []
        assert reopened.search("snow hills", top_k=1)[0][:2] == ("storm", 1)
        assert reopened.search("Corvin", top_k=5)[0][:2] == ("storm", 0)
        for query in [*QUERIES, "Corvin snow"]:
            assert_same_hits(reopened.search(query, top_k=10), index.search(query, top_k=10))


def test_remove_readd_remove_again(tmp_path):
    folder = tmp_path / "lex"
    index = LexicalIndex(folder)
    index.add(ROWS)
    index.remove(["storm"])
    index.add([("storm", 0, "Snow fell on Westmarch.")])
    index.remove(["storm"])
    assert "storm" not in LexicalIndex(folder).article_ids()
    assert LexicalIndex(folder).search("snow rainfall", top_k=5) == []


def _fresh_scores(folder, rows, queries):
    fresh = LexicalIndex(folder)
    fresh.add(rows)
    return fresh, {q: fresh.search(q, top_k=100) for q in queries}


def test_segment_merge_keeps_results_identical_to_fresh_index(tmp_path):
    folder = tmp_path / "incremental"
    index = LexicalIndex(folder)
    for row in ROWS:  # 12 one-row adds: more than MAX_SEGMENTS, so segments are merged
        index.add([row])
    assert len(ROWS) > MAX_SEGMENTS
    state = json.loads((folder / "state.json").read_text("utf-8"))
    assert len(state["segments"]) <= MAX_SEGMENTS
    assert len(list(folder.glob("seg*.npz"))) == len(state["segments"])

    _, expected = _fresh_scores(tmp_path / "fresh", ROWS, QUERIES)
    reopened = LexicalIndex(folder)
    for query in QUERIES:
        for candidate in (index, reopened):
            assert_same_hits(candidate.search(query, top_k=100), expected[query])


@pytest.mark.parametrize(
    ("merge_block", "pread_from_bytes"), [(1 << 20, 4 << 20), (2, 4 << 20), (3, 0)]
)
def test_merge_with_tombstones_matches_fresh_index_of_live_rows(
    tmp_path, monkeypatch, merge_block, pread_from_bytes
):
    """A merge copies a block of terms at a time (2-3 counts here: many blocks) from the
    segments' maps or by pread, dropping removed rows; the result searches like a fresh index
    and leaves no scratch files."""
    monkeypatch.setattr(lexical, "MERGE_BLOCK", merge_block)
    monkeypatch.setattr(lexical, "PREAD_FROM_BYTES", pread_from_bytes)
    folder = tmp_path / "incremental"
    index = LexicalIndex(folder)
    for i, row in enumerate(ROWS):
        index.add([row])
        if i == 3:
            index.remove(["bridge"])
    index.remove(["cup"])
    live = [r for r in ROWS if r[0] not in ("bridge", "cup")]
    _, expected = _fresh_scores(tmp_path / "fresh", live, QUERIES)
    for candidate in (index, LexicalIndex(folder)):
        assert candidate.article_ids() == {r[0] for r in live}
        for query in QUERIES:
            assert_same_hits(candidate.search(query, top_k=100), expected[query])
    assert not list(folder.glob("*.merge-*")) and not list(folder.glob("*.tmp*"))


@pytest.mark.parametrize("merge_block", [1 << 20, 5])
def test_merged_postings_stay_in_term_order_when_segments_share_terms(
    tmp_path, monkeypatch, merge_block
):
    """Later segments hold terms that earlier ones introduced: the merge must order each
    block's counts by term, then row, across segments."""
    monkeypatch.setattr(lexical, "MERGE_BLOCK", merge_block)
    words = ["harbour", "ferry", "council", "budget", "flood", "river", "court", "jury"]
    rows = [
        (f"a{i}", 0, " ".join(words[(i * 3 + j) % len(words)] for j in range(4 + i % 3)))
        for i in range(12)
    ]
    index = LexicalIndex(tmp_path / "incremental")
    for row in rows:
        index.add([row])
    index.remove(["a4"])
    live = [r for r in rows if r[0] != "a4"]
    queries = [*words, "harbour jury", "flood river court"]
    _, expected = _fresh_scores(tmp_path / "fresh", live, queries)
    for candidate in (index, LexicalIndex(tmp_path / "incremental")):
        for query in queries:
            assert_same_hits(candidate.search(query, top_k=100), expected[query])


def test_a_writer_removes_an_interrupted_merges_scratch_files(tmp_path):
    folder = tmp_path / "lex"
    LexicalIndex(folder).add(ROWS)
    scratch = folder / "seg000042.merge-abc"
    scratch.mkdir()
    (scratch / "indices.npy").write_bytes(b"partial")
    LexicalIndex(folder, read_only=True)
    assert scratch.exists()  # a reader never deletes
    LexicalIndex(folder)
    assert not scratch.exists()


def test_allowed_restricts_results(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    query = "the algae turbines penalties jury rainfall"
    hits = index.search(query, top_k=50, allowed={"algae", "trial"})
    assert hits
    assert {a for a, _, _ in hits} <= {"algae", "trial"}
    assert index.search(query, top_k=50, allowed=set()) == []
    assert index.search("rainfall", top_k=50, allowed={"algae"}) == []


def test_coverage_between_zero_and_one(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    full = index.coverage("algae biomass", "The algae doubled its biomass.")
    none = index.coverage("algae biomass", "Kestrel Vale Rovers won the cup.")
    part = index.coverage("algae biomass xylophone", "The algae doubled its biomass.")
    assert full == pytest.approx(1.0)
    assert none == 0.0
    assert 0.0 < part < 1.0
    assert index.coverage("the and of", "anything") == 0.0  # only stopwords
    for query in QUERIES:
        for _, _, text in ROWS:
            assert 0.0 <= index.coverage(query, text) <= 1.0


def test_coverage_weighs_unknown_terms_most(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    # "council" is known; "zeppelin" is in no row and so carries more weight
    with_known = index.coverage("council zeppelin", "The council met.")
    with_unknown = index.coverage("council zeppelin", "A zeppelin flew.")
    assert with_unknown > with_known


def test_empty_index(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add([])
    assert len(index) == 0
    assert index.search("anything", top_k=5) == []
    assert index.scores_for("anything", [("a", 0)]) == {("a", 0): 0.0}
    assert 0.0 <= index.coverage("anything", "anything") <= 1.0
    assert index.article_ids() == set()


def test_all_removed_returns_nothing(tmp_path):
    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS)
    index.remove({r[0] for r in ROWS})
    assert len(index) == 0
    assert index.search("algae", top_k=5) == []
    assert len(LexicalIndex(tmp_path / "lex")) == 0


def test_segments_written_with_float32_counts_load_and_score_the_same(tmp_path):
    """Stores made before article codes and uint16 counts keep working: their segments are
    converted as they load, and score as before."""
    import numpy as np

    index = LexicalIndex(tmp_path / "lex")
    index.add(ROWS[:6])
    index.add(ROWS[6:])
    index.remove({"cup"})
    expected = {q: index.search(q, top_k=5) for q in QUERIES}
    for path in (tmp_path / "lex").glob("seg*.npz"):  # rewrite as the older code wrote them
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        names, codes = arrays.pop("names"), arrays.pop("codes")
        arrays["articles"] = names[codes]  # an id string per row
        arrays["data"] = arrays["data"].astype(np.float32)
        np.savez(path, **arrays)
    reopened = LexicalIndex(tmp_path / "lex")
    for segment in reopened._segments:
        assert segment.counts.dtype == np.uint16 and segment.codes.dtype == np.int32
        assert len(segment.names) == len(set(segment.articles().tolist()))
    for query in QUERIES:
        assert_same_hits(reopened.search(query, top_k=5), expected[query])
    assert reopened.article_ids() == {r[0] for r in ROWS} - {"cup"}


# -- model-based property: any add/remove/reopen history equals a fresh index of the live rows ---

_WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda omicron".split()
_ROW_TEXT = st.lists(st.sampled_from([*_WORDS, "the", "and"]), max_size=6).map(" ".join)
_OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.lists(st.tuples(st.sampled_from("abcdef"), _ROW_TEXT), min_size=1, max_size=3),
        ),
        st.tuples(st.just("remove"), st.sets(st.sampled_from("abcdef"), max_size=2)),
        st.tuples(st.just("reopen"), st.none()),
    ),
    max_size=24,
)


@settings(max_examples=40, deadline=None)
@given(_OPS)
def test_property_history_equals_fresh_index(ops):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "incremental"
        index = LexicalIndex(folder)
        live: dict[str, list[str]] = {}
        for kind, arg in ops:
            if kind == "add":
                batch: dict[str, list[str]] = {}
                for article, text in arg:
                    if article not in live:  # the store removes an article before re-adding it
                        batch.setdefault(article, []).append(text)
                live.update(batch)
                index.add([(a, i, t) for a, texts in batch.items() for i, t in enumerate(texts)])
            elif kind == "remove":
                index.remove(arg)
                for article in arg:
                    live.pop(article, None)
            else:
                index = LexicalIndex(folder)
        fresh = LexicalIndex(Path(tmp) / "fresh")
        fresh.add([(a, i, t) for a, texts in live.items() for i, t in enumerate(texts)])
        assert index.article_ids() == set(live)
        assert len(index) == len(fresh)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-empty live rows: avg length 0
            for query in ["alpha", "beta gamma", "theta iota kappa", "omicron alpha zeta"]:
                assert_same_hits(index.search(query, 1000), fresh.search(query, 1000))
                assert index.coverage(query, "alpha beta") == pytest.approx(
                    fresh.coverage(query, "alpha beta")
                )
                keys = [(a, i) for a, texts in live.items() for i in range(len(texts) + 1)]
                keys += [("zz", 0), *[(a, 0) for a in "abcdef" if a not in live]]
                got, want = index.scores_for(query, keys), fresh.scores_for(query, keys)
                assert got == pytest.approx(want, rel=1e-5)


def test_similar_finds_copies_across_segments_with_full_bm25_scores(tmp_path):
    """`similar` returns a sentence's copies (an edited one too, across segments, not removed
    ones) with the same scores a full search gives them, and not rows sharing only common
    words; a sentence of unknown words has none."""
    index = LexicalIndex(tmp_path / "bm25")
    index.add(ROWS)
    wire = "About 340 homes below the Oriel Dam were evacuated on Thursday, the board said."
    index.add([("wire-a", 0, wire), ("other", 0, "The board said on Thursday it met.")])
    index.add([("wire-b", 3, wire.replace("340", "400")), ("wire-c", 0, wire)])
    index.add([("gone", 0, wire)])
    index.remove(["gone"])
    found = index.similar(wire, 8)
    assert {a for a, _, _ in found} == {"wire-a", "wire-b", "wire-c"}
    full = {(a, n): score for a, n, score in index.search(wire, 20)}
    assert all(math.isclose(score, full[(a, n)], rel_tol=1e-6) for a, n, score in found)
    assert [a for a, _, _ in index.similar(wire, 2)] == ["wire-a", "wire-c"]
    assert index.similar("zzz qqq", 8) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pruned_search_finds_what_scoring_every_row_finds(tmp_path, monkeypatch, seed):
    """MaxScore pruning (used on large segments) returns the same best scores as one pass
    over every row, with tombstones and with an article filter; a wrongly set floor would
    drop rows that belong among the best."""
    import random

    import vectorstore.lexical as lexical

    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(60)]
    weights = [1 / (i + 1) for i in range(60)]  # a few common words, many rare ones
    rows = [
        (f"a{n // 4}", n % 4, " ".join(rng.choices(vocabulary, weights, k=rng.randint(3, 12))))
        for n in range(2000)
    ]
    index = LexicalIndex(tmp_path / "bm25")
    index.add(rows[:1200])
    index.add(rows[1200:])
    index.remove([f"a{n}" for n in range(0, 500, 7)])
    queries = [" ".join(rng.sample(vocabulary, rng.randint(1, 6))) for _ in range(40)]
    allowed = {f"a{n}" for n in rng.sample(range(500), 60)}
    for query in queries:
        for top_k, within in ((10, None), (50, None), (10, allowed)):
            monkeypatch.setattr(lexical, "PRUNE_FROM_ROWS", 10**9)
            every = index.search(query, top_k, within)
            monkeypatch.setattr(lexical, "PRUNE_FROM_ROWS", 0)
            pruned = index.search(query, top_k, within)
            assert [s for _, _, s in pruned] == pytest.approx([s for _, _, s in every])
            assert within is None or {a for a, _, _ in pruned} <= within
