"""A real HTTP server on 127.0.0.1 for the URL and feed tests: article pages with and without
dates, RSS and Atom feeds of 50 items, a 404, a redirect loop, a slow page, an oversized page, a
PDF, a robots.txt that disallows /private/, and a redirect to another (private) host.

Routes live in `NewsSite.routes` (path → (status, headers, body) or a callable), so a test can
change a feed between polls. Every request is recorded in `NewsSite.requests`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Response = tuple[int, dict[str, str], bytes]

TOWNS = ["Carrowick", "Millford", "Tollard", "Harrowgate", "Lower Brisk", "Dunmere", "Westmarch"]
THINGS = ["library", "ferry", "market", "bridge", "school", "harbour", "museum", "park"]


def page_html(number: int, dated: bool) -> bytes:
    """An article page (nav, footer and all) about item `number`; dated ones carry a date."""
    town, thing = TOWNS[number % len(TOWNS)], THINGS[number % len(THINGS)]
    when = (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=number)).date().isoformat()
    meta = f'<meta property="article:published_time" content="{when}T08:00:00Z">' if dated else ""
    body = (
        f"<p>The {town} {thing} will get a new roof after inspectors found damage in survey "
        f"number {number}, the council said on Tuesday.</p>"
        f"<p>Work on the {thing} in {town} is expected to cost {number + 3} thousand pounds and "
        f"to last {number % 9 + 2} weeks, according to the plans published by the council.</p>"
        f"<p>Residents of {town} said the {thing} had been closed since a storm in the autumn, "
        f"and that item {number} of the council agenda had been delayed twice.</p>"
    )
    return (
        "<!doctype html><html><head>"
        f"<title>{town} {thing} repairs, item {number}</title>{meta}"
        '<meta property="og:site_name" content="Test Gazette">'
        "</head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>{town} {thing} repairs, item {number}</h1>{body}</article>"
        "<footer>© Test Gazette. All rights reserved. Subscribe to our newsletter.</footer>"
        "</body></html>"
    ).encode()


def rss(base: str, numbers: range, title: str = "Test Gazette") -> bytes:
    items = "".join(
        f"<item><title>Item {n}</title><link>{base}/news/{n}.html</link>"
        f"<pubDate>{format_datetime(datetime(2025, 3, 1, tzinfo=UTC) + timedelta(days=n))}"
        "</pubDate></item>"
        for n in numbers
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>{base}/</link><description>news</description>{items}</channel></rss>"
    ).encode()


def atom(base: str, numbers: range) -> bytes:
    entries = "".join(
        f"<entry><title>Item {n}</title><link href='{base}/news/{n}.html'/>"
        f"<id>{base}/news/{n}.html</id><updated>2025-04-{n % 28 + 1:02d}T09:00:00Z</updated>"
        "</entry>"
        for n in numbers
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Test Gazette</title><id>{base}/</id><updated>2025-04-28T09:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


@dataclass
class NewsSite:
    base: str = ""
    routes: dict[str, Response | Callable[[], Response]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)


HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}
ATOM = {"Content-Type": "application/atom+xml"}


def fill(site: NewsSite, items: int = 50, slow_seconds: float = 3.0) -> None:
    base = site.base
    for n in range(items + 10):
        site.routes[f"/news/{n}.html"] = (200, HTML, page_html(n, dated=n % 2 == 0))
    site.routes["/feed.rss"] = (200, {**RSS, "ETag": '"v1"'}, rss(base, range(items)))
    site.routes["/feed.atom"] = (200, ATOM, atom(base, range(items)))
    site.routes["/robots.txt"] = (
        200,
        {"Content-Type": "text/plain"},
        b"User-agent: *\nDisallow: /private/\n",
    )
    site.routes["/private/secret.html"] = (200, HTML, page_html(999, True))
    site.routes["/loop-a"] = (302, {"Location": "/loop-b"}, b"")
    site.routes["/loop-b"] = (302, {"Location": "/loop-a"}, b"")
    site.routes["/moved"] = (301, {"Location": "/news/3.html"}, b"")
    port = base.rsplit(":", 1)[1]
    site.routes["/to-private"] = (302, {"Location": f"http://localhost:{port}/news/4.html"}, b"")
    site.routes["/big.html"] = (200, HTML, b"<html><body><p>" + b"x " * 400_000 + b"</p></body>")
    site.routes["/report.pdf"] = (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 ...")

    def slow() -> Response:
        time.sleep(slow_seconds)
        return (200, HTML, page_html(7, True))

    site.routes["/slow.html"] = slow


@contextmanager
def news_site() -> Iterator[NewsSite]:
    site = NewsSite()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real sites serve

        def setup(self) -> None:
            super().setup()  # headers and body leave at once (no Nagle wait on keep-alive)
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            with site.lock:
                site.requests.append((path, dict(self.headers)))
            route: Any = site.routes.get(path)
            if route is None:
                status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
            else:
                status, headers, body = route() if callable(route) else route
            etag = headers.get("ETag")
            if etag and self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    fill(site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
