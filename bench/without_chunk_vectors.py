"""Do the chunk vectors earn their place in Chroma? `citeqa` with them left out of search.

    python bench/without_chunk_vectors.py --home H eval QUESTIONS --out DIR      # as citeqa
    CITEQA_BENCH_NO_CHUNK_VECTORS=1 python bench/without_chunk_vectors.py ...    # without

Runs the citeqa CLI unchanged, except that with CITEQA_BENCH_NO_CHUNK_VECTORS=1 the dense chunk
list is empty and no chunk has an exact cosine: the search then sees exactly what a store that
never wrote chunk vectors to Chroma would give it (BM25 over chunks stays). Run both ways on the
same ingested store and compare the eval summaries (issue 21 item 3; figures in RESULTS.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def leave_out_chunk_vectors() -> None:
    from vectorstore.store import ArticleStore

    def no_hits(self: ArticleStore, vector: Any, k: int, where: Any) -> list[Any]:
        return []

    def no_similarities(self: ArticleStore, vector: Any, keys: Any) -> dict[Any, float]:
        return {}

    ArticleStore.dense_chunks = no_hits  # type: ignore[method-assign]
    ArticleStore.chunk_similarities = no_similarities  # type: ignore[method-assign]


if __name__ == "__main__":
    if os.environ.get("CITEQA_BENCH_NO_CHUNK_VECTORS") == "1":
        leave_out_chunk_vectors()
    from ui.cli import main

    sys.exit(main())
