"""Feed ingest vs file ingest: the same 200 article pages, once as .html files and once as the
items of an RSS feed served on 127.0.0.1, each into a fresh store with the same loaded model.

    python bench/feeds.py [--items 200] [--rounds 3] [--delay 0]

The two sides alternate `--rounds` times; each side's fastest run is reported with the ratio
(feed / files). `--delay` is the polite pause between two requests to one host (the CLI's
default is 1 s, which alone makes 200 items from one host take 200 s; the benchmark measures
fetching and parsing with the bounded pool, so it defaults to 0).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import machine
from tests.web_server import HTML, RSS, news_site, page_html, rss


@contextmanager
def served(items: int) -> Iterator[str]:
    """The pages and their feed from a server in another process (as a real site would be:
    its work does not share this process's interpreter lock)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(items)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        yield child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def serve(items: int) -> None:
    with news_site() as site:
        for n in range(items):
            site.routes[f"/news/{n}.html"] = (200, HTML, page_html(n, dated=n % 2 == 0))
        site.routes["/feed.rss"] = (200, RSS, rss(site.base, range(items)))
        print(site.base, flush=True)
        sys.stdin.read()  # until the parent closes it


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()

    from vectorstore.embed import SentenceTransformerEmbedder
    from vectorstore.fetch import FetchPolicy
    from vectorstore.ingest import ingest_paths
    from vectorstore.settings import Settings
    from vectorstore.store import open_store

    embedder = SentenceTransformerEmbedder()
    embedder.embed_documents(["warm up the model"])
    policy = FetchPolicy(allow_private=True, host_delay=args.delay)
    files_s: list[float] = []
    feed_s: list[float] = []
    with tempfile.TemporaryDirectory() as work, served(args.items) as base:
        pages = Path(work) / "pages"
        pages.mkdir()
        for n in range(args.items):
            (pages / f"{n}.html").write_bytes(page_html(n, dated=n % 2 == 0))
        for round_ in range(args.rounds):
            for side in ("files", "feed") if round_ % 2 == 0 else ("feed", "files"):
                home = Path(work) / f"{side}-{round_}"
                store = open_store(Settings(home=home), embedder)
                source = [pages] if side == "files" else [f"{base}/feed.rss"]
                started = time.perf_counter()
                report = ingest_paths(store, embedder, source, fetch=policy)
                seconds = time.perf_counter() - started
                store.close()
                assert len(report.added) == args.items and not report.failed, report.summary()
                (files_s if side == "files" else feed_s).append(seconds)
                print(f"round {round_ + 1} {side:5s} {seconds:6.2f} s")
    best_files, best_feed = min(files_s), min(feed_s)
    print(f"\n{machine()}")
    print(f"{args.items} pages as files: {best_files:.2f} s (fastest of {args.rounds})")
    print(f"{args.items} pages as a feed:  {best_feed:.2f} s (fastest of {args.rounds})")
    print(f"feed / files: {best_feed / best_files:.2f}x (delay per host {args.delay:g} s)")


if __name__ == "__main__":
    main()
