"""The manifest's key grouping: bounded per-article queries (no store needed)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_manifest_lookups_group_keys_by_article_in_bounded_queries() -> None:
    """sentence_rows/chunk_sentences ask SQLite once per article, never with more numbers per
    statement than allowed: keys are grouped, deduplicated, sorted and split."""
    from vectorstore.manifest import _by_article

    keys = [("b", 3), ("a", 2), ("b", 1), ("a", 2), ("b", 2), ("b", 5), ("b", 4)]
    assert _by_article(keys, most=2) == [("b", [1, 2]), ("b", [3, 4]), ("b", [5]), ("a", [2])]
    assert _by_article([]) == []
