"""Polite, bounded HTTP fetching for article pages and feeds (httpx).

Every request names citeqa in its User-Agent, has a timeout (per read and for the whole body),
a size cap, at most `max_redirects` hops (each hop checked again), an expected content type,
and honours the site's robots.txt. Hosts whose addresses are private, loopback, link-local or
otherwise not public are refused unless `allow_private` is set: a feed must not be a way to
reach the machine's own services. Requests to one host are spaced by `host_delay` seconds.
A failure is a FetchError that names the URL and the reason.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from vectorstore.errors import CiteqaError

USER_AGENT = "citeqa/0.1 (news question answering; article and feed fetcher)"
ROBOTS_AGENT = "citeqa"
REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(RuntimeError, CiteqaError):
    """A URL could not be fetched; the message names it and the reason."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may do; the defaults are the polite ones."""

    timeout: float = 20.0  # seconds for connecting, for each read, and for the whole body
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    allow_private: bool = False
    # with allow_private: only these hosts may be private (empty: any); `citeqa ingest` names
    # the hosts of the URLs given, so a redirect or link to another private host is refused
    private_hosts: frozenset[str] = frozenset()
    host_delay: float = 1.0  # seconds between two requests to the same host
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class Fetched:
    """One response body (or "not modified"), with what conditional requests need next time."""

    url: str  # after redirects
    content_type: str
    body: bytes
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


class Fetcher:
    """One HTTP client for an ingest: robots.txt and host spacing are remembered across URLs.
    Thread-safe: a feed's pages are fetched by a small pool."""

    def __init__(self, policy: FetchPolicy | None = None):
        self.policy = policy or FetchPolicy()
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout),
            follow_redirects=False,
            headers={"User-Agent": self.policy.user_agent},
            trust_env=False,  # no proxy settings from the environment: addresses are checked
        )
        self._robots: dict[str, RobotFileParser] = {}
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self,
        url: str,
        accept: tuple[str, ...],
        etag: str = "",
        last_modified: str = "",
    ) -> Fetched:
        """The body at `url` if its content type is one of `accept` (prefixes, e.g.
        "text/html"); `etag`/`last_modified` make the request conditional."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self.policy.max_redirects + 1):
            self._check_address(current)
            if not self._robots_allow(current):
                raise FetchError(current, "disallowed by the site's robots.txt")
            response = self._request(current, headers, accept)
            if isinstance(response, str):  # a redirect
                current = response
                continue
            return response
        raise FetchError(url, f"more than {self.policy.max_redirects} redirects")

    # -- one request -----------------------------------------------------------------------
    def _request(self, url: str, headers: dict[str, str], accept: tuple[str, ...]) -> Fetched | str:
        self._wait_for_host(url)
        deadline = time.monotonic() + self.policy.timeout
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code in REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(url, f"HTTP {response.status_code} without a Location")
                    return urljoin(url, location)
                if response.status_code == 304:
                    return Fetched(url, "", b"", not_modified=True)
                if response.status_code >= 400:
                    raise FetchError(url, f"HTTP {response.status_code} {response.reason_phrase}")
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if accept and not kind.startswith(accept):
                    raise FetchError(
                        url, f"content type {kind or '(none)'!r}, not one of {', '.join(accept)}"
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.policy.max_bytes:
                    raise FetchError(url, self._too_big(int(declared)))
                body = bytearray()
                for piece in response.iter_bytes():
                    body += piece
                    if len(body) > self.policy.max_bytes:
                        raise FetchError(url, self._too_big(len(body)))
                    if time.monotonic() > deadline:
                        raise FetchError(url, f"timed out after {self.policy.timeout:g} s")
                return Fetched(
                    str(response.url),
                    kind,
                    bytes(body),
                    response.headers.get("etag", ""),
                    response.headers.get("last-modified", ""),
                )
        except httpx.TimeoutException:
            raise FetchError(url, f"timed out after {self.policy.timeout:g} s") from None
        except httpx.HTTPError as err:
            raise FetchError(url, f"request failed ({type(err).__name__}: {err})") from None

    def _too_big(self, size: int) -> str:
        return f"over the {self.policy.max_bytes / 1024 / 1024:g} MB limit ({size:,} bytes)"

    # -- safety and politeness -------------------------------------------------------------
    def _check_address(self, url: str) -> None:
        """http(s) only; every address the host resolves to must be public."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http:// and https:// URLs can be fetched")
        if self.policy.allow_private and (
            not self.policy.private_hosts or parts.hostname in self.policy.private_hosts
        ):
            return
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except (OSError, ValueError) as err:
            raise FetchError(url, f"cannot resolve {parts.hostname} ({err})") from None
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not address.is_global:
                raise FetchError(
                    url,
                    f"{parts.hostname} is a private, loopback or link-local address ({address});"
                    " --allow-private allows it",
                )

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            robots = self._robots.get(base)
        if robots is None:
            robots = self._load_robots(base)
            with self._lock:
                self._robots[base] = robots
        return robots.can_fetch(ROBOTS_AGENT, url)

    def _load_robots(self, base: str) -> RobotFileParser:
        """The site's robots.txt; missing (4xx) allows everything, unreachable (5xx, errors)
        as well, except that an explicit disallow is always honoured."""
        robots = RobotFileParser()
        try:
            fetched = self._request(f"{base}/robots.txt", {}, ())
        except FetchError:
            robots.parse([])
            return robots
        if isinstance(fetched, str):  # a redirected robots.txt: not followed
            robots.parse([])
            return robots
        robots.parse(fetched.body.decode("utf-8", "replace").splitlines())
        return robots

    def _wait_for_host(self, url: str) -> None:
        host = urlsplit(url).netloc
        with self._lock:
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:
            wait = self._last.get(host, 0.0) + self.policy.host_delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last[host] = time.monotonic()
