"""Article URLs, RSS/Atom feeds and `citeqa watch` against a real HTTP server on 127.0.0.1
(tests/web_server.py): nothing here reaches outside the machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web_server import HTML, RSS, NewsSite, news_site, page_html, rss
from vectorstore.fetch import Fetcher, FetchError, FetchPolicy

ROOT = Path(__file__).resolve().parent.parent
QUICK = FetchPolicy(allow_private=True, host_delay=0.0, timeout=1.0, max_bytes=200_000)


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    with news_site() as running:
        yield running


@pytest.fixture
def assistant(tmp_path, embedder) -> Iterator:
    from tests.store_invariants import assistant_with

    built = assistant_with(embedder, tmp_path / "home")
    with built:
        yield built


def reason(site: NewsSite, path: str, policy: FetchPolicy = QUICK) -> str:
    with Fetcher(policy) as fetcher, pytest.raises(FetchError) as err:
        fetcher.get(site.base + path, ("text/html",))
    assert err.value.url.startswith("http://")
    return err.value.reason


@pytest.mark.integration
def test_each_bad_url_fails_with_its_reason(site):
    assert reason(site, "/missing.html") == "HTTP 404 Not Found"
    assert reason(site, "/loop-a") == "more than 5 redirects"
    assert reason(site, "/slow.html") == "timed out after 1 s"
    assert reason(site, "/big.html").startswith("over the 0.190735 MB limit")
    assert "content type 'application/pdf'" in reason(site, "/report.pdf")
    assert reason(site, "/private/secret.html") == "disallowed by the site's robots.txt"
    only_ours = FetchPolicy(allow_private=True, private_hosts=frozenset({"127.0.0.1"}))
    refused = reason(site, "/to-private", only_ours)
    assert refused.startswith("localhost is a private, loopback or link-local address")
    assert site.count("/robots.txt") >= 1


@pytest.mark.unit
def test_private_addresses_are_refused_by_default():
    with Fetcher(FetchPolicy()) as fetcher:
        for url in ("http://127.0.0.1:9/x", "http://[::1]:9/x", "http://169.254.169.254/x"):
            with pytest.raises(FetchError, match="private, loopback or link-local"):
                fetcher.get(url, ("text/html",))
        with pytest.raises(FetchError, match="only http:// and https://"):
            fetcher.get("file:///etc/passwd", ("text/html",))


@pytest.mark.integration
def test_a_page_url_is_stored_once_and_replaced_when_it_changes(site, assistant):
    url = f"{site.base}/news/10.html"
    first = assistant.ingest([url], None, QUICK)
    assert len(first.added) == 1 and not first.failed
    [stored] = assistant.articles()
    assert stored.origin == url and stored.url == url
    assert stored.title == "Harrowgate market repairs, item 10"
    assert stored.source == "Test Gazette" and stored.published is not None  # dated page
    text = assistant.store.text(stored.id)
    assert "Home" not in text and "newsletter" not in text  # boilerplate removed
    again = assistant.ingest([url], None, QUICK)
    assert len(again.unchanged) == 1 and not again.added
    site.routes["/news/10.html"] = (200, HTML, page_html(11, dated=True))
    try:
        changed = assistant.ingest([url], None, QUICK)
    finally:
        site.routes["/news/10.html"] = (200, HTML, page_html(10, dated=True))
    assert len(changed.replaced) == 1
    [now] = assistant.articles()
    assert "item 11" in now.title and now.id != stored.id


@pytest.mark.integration
def test_a_feed_ingests_its_items_and_skips_stored_ones_without_fetching(site, assistant):
    feed = f"{site.base}/feed.rss"
    before = site.count("/news/5.html")
    report = assistant.ingest([feed], None, QUICK)
    assert not report.failed
    assert len(report.added) == 50
    undated = next(a for a in assistant.articles() if a.title.endswith("item 5"))
    assert undated.published is not None and undated.published.date().isoformat() == "2025-03-06"
    assert site.count("/news/5.html") == before + 1
    site.routes["/feed.rss"] = (200, RSS, rss(site.base, range(53)))  # 3 new items, no ETag
    try:
        second = assistant.ingest([feed], None, QUICK)
    finally:
        site.routes["/feed.rss"] = (200, {**RSS, "ETag": '"v1"'}, rss(site.base, range(50)))
    assert len(second.added) == 3 and second.known_items == 50
    assert site.count("/news/5.html") == before + 1  # a stored item is not fetched again
    assert "50 feed items already stored" in second.summary()
    # the feed answered with an ETag: asked again with it, the server says "not modified"
    third = assistant.ingest([feed], None, QUICK)
    assert third.extra["feeds_not_modified"] == 1 and not third.added
    assert any(h.get("If-None-Match") == '"v1"' for p, h in site.requests if p == "/feed.rss")


@pytest.mark.integration
def test_an_atom_feed_file_and_failures_that_do_not_stop_the_rest(site, assistant, tmp_path):
    feed = tmp_path / "gazette.atom"
    from tests.web_server import atom

    feed.write_bytes(atom(site.base, range(45, 60)))
    site.routes["/news/59.html"] = (404, HTML, b"gone")
    try:
        report = assistant.ingest(
            [feed, f"{site.base}/report.pdf", f"{site.base}/missing.html"], None, QUICK
        )
    finally:
        site.routes["/news/59.html"] = (200, HTML, page_html(59, dated=False))
    assert len(report.added) == 14
    failed = {f.origin.rsplit("/", 1)[1]: f.reason for f in report.failed}
    assert failed["59.html"] == "HTTP 404 Not Found"
    assert "content type 'application/pdf'" in failed["report.pdf"]
    assert failed["missing.html"] == "HTTP 404 Not Found"


@pytest.mark.integration
def test_cli_ingest_refuses_private_addresses_unless_allowed(site, tmp_path):
    from click.testing import CliRunner

    from ui.cli import main

    home = str(tmp_path / "home")
    url = f"{site.base}/news/12.html"
    refused = CliRunner().invoke(main, ["--home", home, "ingest", "--quiet", url])
    assert refused.exit_code == 1
    assert "127.0.0.1 is a private, loopback or link-local address" in refused.output
    allowed = CliRunner().invoke(
        main, ["--home", home, "ingest", "--quiet", "--allow-private", "--delay", "0", url]
    )
    assert allowed.exit_code == 0, allowed.output
    assert "1 added" in allowed.output
    redirected = CliRunner().invoke(
        main,
        ["--home", home, "ingest", "--quiet", "--allow-private", f"{site.base}/to-private"],
    )
    assert redirected.exit_code == 1 and "localhost is a private" in redirected.output


@pytest.mark.integration
@pytest.mark.slow
def test_watch_polls_until_ctrl_c_and_keeps_what_it_stored(site, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ui.cli", "--home", str(home), "watch"]
    command += [f"{site.base}/feed.atom", "--every", "1s", "--allow-private", "--delay", "0"]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if " poll 2:" in line:
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert " poll 1: 50 new, 0 unchanged, 0 failed" in output
    assert " poll 2: 0 new, 50 unchanged, 0 failed" in output
    assert output.rstrip().endswith("stopped")
    listed = subprocess.run(
        [sys.executable, "-m", "ui.cli", "--home", str(home), "articles", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.count('"id"') == 50


@pytest.mark.integration
def test_the_articles_tab_fetches_a_feed_and_reports_each_failure(site, tmp_path):
    from gradio_client import Client

    from tests.ui_server import running_app

    with running_app(tmp_path, fetch=QUICK) as server:
        client = Client(server.url, verbose=False)
        result, table, _choices, cleared = client.predict(
            f"{site.base}/feed.atom\n{site.base}/missing.html", api_name="/fetch"
        )
        lines = result.splitlines()
        assert lines[0].startswith("50 added, 0 unchanged, 0 replaced, 1 failed")
        assert lines[1] == f"✗ {site.base}/missing.html: HTTP 404 Not Found"
        assert cleared == ""
        assert sum("repairs, item" in str(row[1]) for row in table["data"]) == 50
        with pytest.raises(Exception, match="not an http"):
            client.predict("file:///etc/passwd", api_name="/fetch")
    (tmp_path / "default").mkdir()
    with running_app(tmp_path / "default") as server:  # the default policy: public only
        result, *_ = Client(server.url, verbose=False).predict(
            f"{site.base}/news/1.html", api_name="/fetch"
        )
        assert "127.0.0.1 is a private, loopback or link-local address" in result


@pytest.mark.integration
def test_a_page_listed_by_two_feeds_is_fetched_once(site, assistant, tmp_path):
    from tests.web_server import atom

    feed = tmp_path / "overlap.atom"
    feed.write_bytes(atom(site.base, range(40, 45)))
    other = tmp_path / "overlap2.atom"
    other.write_bytes(atom(site.base, range(42, 47)))
    before = site.count("/news/43.html")
    report = assistant.ingest([feed, other], None, QUICK)
    assert len(report.added) == 7 and not report.failed
    assert site.count("/news/43.html") == before + 1
