"""The host's Debian package cache: a caching HTTP proxy apt in each container goes through.

Every local build runs one ``PackageCache`` (a thread of the bake process, so it dies with it)
listening on its network's gateway address, reachable only from that container. apt is pointed
at it by ``/etc/apt/apt.conf.d/00-bake-proxy`` (removed before the snapshot, never in an image).
Files are stored under ``<cache>/apt/<host>/<path>``, so the URL itself keys them by mirror,
suite and architecture; every build and every bake process on the host shares them:

- ``pool/`` packages and ``by-hash/`` indices never change under a name: once stored, they are
  served without asking the mirror.
- other ``dists/`` files (``InRelease``, ``Packages.xz``...) change: served from the store for
  ``FRESH_SECONDS`` after they were fetched or revalidated, then revalidated with
  ``If-Modified-Since`` (a 304 downloads nothing); if the mirror cannot be reached the stored
  copy is served.
- anything else goes through unstored.

A download is written to ``<cache>/apt/.partial/<build id>/`` (journaled, removed with the build
or by ``bake cleanup``) and renamed into the store when complete, so readers in other bake
processes only ever see whole files. Concurrent requests for one file, from one bake process or
several (parallel CI jobs on one host), wait for a single download: a ``flock`` per file in
``<cache>/apt/.locks/``.
"""

from __future__ import annotations

import contextlib
import email.utils
import fcntl
import hashlib
import http.client
import io
import logging
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from bakeansible.paths import cache_dir
from bakeansible.pipeline.progress import human_size

log = logging.getLogger(__name__)

APT_CONF = "etc/apt/apt.conf.d/00-bake-proxy"
FRESH_SECONDS = 600.0
CHUNK = 1 << 16
TIMEOUT = 60.0

#: How often a request waiting for another one's download of the same file looks again.
LOCK_POLL = 0.05


def store_dir(root: Path | None = None) -> Path:
    """Where packages and indices are kept (``<cache>/apt``)."""
    return (root or cache_dir()) / "apt"


def partial_dir(build_id: str, root: Path | None = None) -> Path:
    """Where a build's downloads in progress live until complete."""
    return store_dir(root) / ".partial" / build_id


def apt_conf(url: str) -> str:
    """The apt configuration that sends a container's http:// downloads through ``url``."""
    return (
        "# Written by bake for this build only; removed from the image.\n"
        f'Acquire::http::Proxy "{url}";\n'
    )


class _Stopping(Exception):
    """The cache stopped while a request waited for another one's download."""


@contextlib.contextmanager
def _file_lock(store: Path, path: Path, closing: threading.Event) -> Iterator[None]:
    """Held while one request checks and fetches ``path``: a second request for it, from this
    bake or another bake process sharing the store, waits and is then served the stored copy
    rather than downloading it again. A ``flock``: whoever dies holding it releases it."""
    locks = store / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(str(path).encode()).hexdigest()[:32]
    fd = os.open(locks / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if closing.wait(LOCK_POLL):
                    raise _Stopping from None
        yield
    finally:
        os.close(fd)


@dataclass
class CacheStats:
    """What the cache served: requests answered from the store, fetched from the mirror (bytes
    of bodies downloaded), passed through unstored, and failed."""

    hits: int = 0
    fetched: int = 0
    fetched_bytes: int = 0
    revalidated: int = 0
    passed: int = 0
    errors: int = 0

    def summary(self) -> str:
        return (
            f"Package cache: {self.hits} served from the cache, {self.fetched} fetched "
            f"({human_size(self.fetched_bytes)} from the mirror), {self.revalidated} revalidated, "
            f"{self.passed} passed through, {self.errors} failed"
        )


class PackageCache:
    """A caching proxy for one build: ``start()`` on the gateway address, ``stop()``."""

    def __init__(self, bind: str, store: Path, partial: Path) -> None:
        self.bind = bind
        self.store = store
        self.partial = partial
        self.stats = CacheStats()
        self._stats_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self.bind}:{self._server.server_address[1]}/"

    def start(self) -> None:
        self.partial.mkdir(parents=True, exist_ok=True)
        cache = self

        class Handler(_ProxyHandler):
            owner = cache

        self._server = ThreadingHTTPServer((self.bind, 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() waits for it, at the end of every build.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=f"pkgcache-{self.bind}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and remove the downloads in progress. Idempotent."""
        self.closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        shutil.rmtree(self.partial, ignore_errors=True)

    def count(self, **delta: int) -> None:
        with self._stats_lock:
            for key, value in delta.items():
                setattr(self.stats, key, getattr(self.stats, key) + value)

    def local_path(self, url: str) -> Path | None:
        """Where ``url`` is stored, or None if it is not a Debian archive file we keep."""
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.query or not parts.hostname:
            return None
        path = parts.path
        if ("/pool/" not in path and "/dists/" not in path) or path.endswith("/"):
            return None
        segments = [s for s in path.split("/") if s]
        if any(s in (".", "..") for s in segments):
            return None
        host = parts.hostname + (f"_{parts.port}" if parts.port else "")
        return self.store / host / Path(*segments)


def immutable(path: Path) -> bool:
    """Files that never change under their name (packages, by-hash indices)."""
    text = str(path)
    return "/pool/" in text or "/by-hash/" in text


class _ProxyHandler(BaseHTTPRequestHandler):
    owner: PackageCache
    protocol_version = "HTTP/1.1"
    server_version = "bake-package-cache"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("package cache %s: " + format, self.client_address[0], *args)

    def do_CONNECT(self) -> None:  # noqa: N802
        self.send_error(501, "bake's package cache proxies plain http:// only")

    def do_HEAD(self) -> None:  # noqa: N802
        self._pass_through(head=True)

    def do_GET(self) -> None:  # noqa: N802
        path = self.owner.local_path(self.path)
        if path is None:
            self._pass_through()
            return
        try:
            with _file_lock(self.owner.store, path, self.owner.closing):
                hit = self._fresh(path)
                answered = False if hit else self._refresh(path)
        except _Stopping:  # the build ended while this request waited
            self.send_error(503, "bake's package cache is stopping")
            return
        if answered:
            return
        if path.is_file():
            self._send_file(path, hit)
        else:
            self.send_error(502, "bake's package cache could not download it")

    def _fresh(self, path: Path) -> bool:
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return False
        return immutable(path) or age < FRESH_SECONDS

    def _refresh(self, path: Path) -> bool:
        """Fetch ``path``'s URL into the store (conditionally if we hold an old copy); True if
        the client got its answer already (the mirror's error)."""
        headers = {"User-Agent": self.headers.get("User-Agent", "bake")}
        stored = path.is_file()
        if stored:
            headers["If-Modified-Since"] = email.utils.formatdate(
                path.stat().st_mtime, usegmt=True
            )
        try:
            response = _open(self.path, headers)
        except urllib.error.HTTPError as exc:
            if exc.code == 304 and stored:
                os.utime(path)
                self.owner.count(revalidated=1)
                return False
            if stored:
                return False  # the mirror is unhappy: serve what we have
            self.owner.count(errors=1)
            self._relay_error(exc)
            return True
        except OSError as exc:
            if stored:
                return False
            self.owner.count(errors=1)
            self.send_error(502, f"bake's package cache could not reach the mirror: {exc}")
            return True
        with response:
            self._download(response, path)
        return False

    def _download(self, response: http.client.HTTPResponse, path: Path) -> None:
        self.owner.partial.mkdir(parents=True, exist_ok=True)
        tmp = self.owner.partial / f"{threading.get_ident()}-{path.name}"
        got = 0
        try:
            with tmp.open("wb") as out:
                while chunk := response.read(CHUNK):
                    if self.owner.closing.is_set():
                        raise OSError("the build is over")
                    out.write(chunk)
                    got += len(chunk)
            expected = response.headers.get("Content-Length")
            if expected is not None and int(expected) != got:
                raise OSError(f"short download ({got} of {expected} bytes)")
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.rename(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            self.owner.count(errors=1, fetched_bytes=got)
            log.warning("package cache: %s: %s", self.path, exc)
            return
        self.owner.count(fetched=1, fetched_bytes=got)

    def _send_file(self, path: Path, hit: bool) -> None:
        try:
            fh = path.open("rb")
        except OSError:
            self.send_error(500, "cached file vanished")
            return
        # Counted before the body goes out: a client that has it may read the stats at once.
        self.owner.count(hits=int(hit))
        with fh:
            size = os.fstat(fh.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            _copy(fh, self.wfile)

    def _relay_error(self, exc: urllib.error.HTTPError) -> None:
        body = exc.read() if exc.fp else b""
        self.send_response(exc.code, exc.reason)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _pass_through(self, head: bool = False) -> None:
        """Forward a request we do not store (other URLs, HEAD)."""
        if not self.path.startswith("http://"):
            self.send_error(400, "bake's package cache is a proxy: request an absolute http URL")
            return
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "proxy-connection", "connection")}
        self.owner.count(passed=1)
        try:
            response = _open(self.path, headers, method="HEAD" if head else "GET")
        except urllib.error.HTTPError as exc:
            self._relay_error(exc)
            return
        except OSError as exc:
            self.send_error(502, f"bake's package cache could not reach the server: {exc}")
            return
        with response:
            self.send_response(response.status, response.reason)
            length = response.headers.get("Content-Length")
            for key in ("Content-Type", "Last-Modified", "Content-Length"):
                if value := response.headers.get(key):
                    self.send_header(key, value)
            if length is None and not head:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if not head:
                _copy(response, self.wfile)


def _open(url: str, headers: dict[str, str], method: str = "GET") -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers=headers, method=method)
    response: http.client.HTTPResponse = urllib.request.urlopen(request, timeout=TIMEOUT)
    return response


def _copy(src: IO[bytes] | http.client.HTTPResponse, dst: io.BufferedIOBase) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := src.read(CHUNK):
            dst.write(chunk)
