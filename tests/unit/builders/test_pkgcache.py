"""The package cache proxy against a real HTTP mirror on loopback: packages fetched once and then
served from the store, indices revalidated, the stored copy served when the mirror is down."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bakeansible.builders.local import pkgcache


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A directory served over HTTP (with Last-Modified / 304), and the paths it was asked."""
    root = tmp_path / "mirror"
    (root / "debian/pool/main/n/nginx").mkdir(parents=True)
    (root / "debian/dists/bookworm").mkdir(parents=True)
    (root / "debian/pool/main/n/nginx/nginx_1_amd64.deb").write_bytes(b"deb" * 50_000)
    (root / "debian/dists/bookworm/InRelease").write_text("Release v1\n")
    (root / "other.txt").write_text("not an archive file\n")
    asked: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def send_head(self):  # type: ignore[no-untyped-def]
            asked.append(self.path)
            return super().send_head()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root, asked
    server.shutdown()
    server.server_close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pkgcache.PackageCache]:
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    c = pkgcache.PackageCache("127.0.0.1", tmp_path / "store", tmp_path / "store/.partial/b1")
    c.start()
    yield c
    c.stop()


def get(cache: pkgcache.PackageCache, url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": cache.url}))
    with opener.open(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def test_a_package_is_fetched_once_then_served_from_the_store(
    mirror: tuple[str, Path, list[str]], cache: pkgcache.PackageCache
) -> None:
    base, root, asked = mirror
    url = f"{base}/debian/pool/main/n/nginx/nginx_1_amd64.deb"
    assert get(cache, url) == b"deb" * 50_000
    assert get(cache, url) == b"deb" * 50_000
    assert asked == ["/debian/pool/main/n/nginx/nginx_1_amd64.deb"]
    assert cache.stats.fetched == 1 and cache.stats.hits == 1
    assert cache.stats.fetched_bytes == 150_000
    stored = cache.store / "127.0.0.1_{}".format(base.rsplit(":", 1)[1])
    assert (stored / "debian/pool/main/n/nginx/nginx_1_amd64.deb").stat().st_size == 150_000
    # A second cache (another build, another bake process) shares the store: nothing fetched.
    other = pkgcache.PackageCache("127.0.0.1", cache.store, cache.store / ".partial/b2")
    other.start()
    try:
        assert get(other, url) == b"deb" * 50_000
    finally:
        other.stop()
    assert other.stats.hits == 1 and other.stats.fetched_bytes == 0
    assert len(asked) == 1
    assert "0 fetched (0 B from the mirror)" in other.stats.summary()


def test_indices_are_revalidated_when_stale_and_served_when_the_mirror_is_down(
    mirror: tuple[str, Path, list[str]], cache: pkgcache.PackageCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, root, asked = mirror
    url = f"{base}/debian/dists/bookworm/InRelease"
    assert get(cache, url) == b"Release v1\n"
    assert get(cache, url) == b"Release v1\n"  # fresh: not asked again
    assert len(asked) == 1
    monkeypatch.setattr(pkgcache, "FRESH_SECONDS", 0.0)
    assert get(cache, url) == b"Release v1\n"  # stale: revalidated, 304
    assert cache.stats.revalidated == 1 and cache.stats.fetched == 1
    (root / "debian/dists/bookworm/InRelease").unlink()
    assert get(cache, url) == b"Release v1\n"  # the mirror lost it: the stored copy
    assert len(asked) == 3


def test_other_urls_pass_through_unstored_and_errors_are_relayed(
    mirror: tuple[str, Path, list[str]], cache: pkgcache.PackageCache
) -> None:
    base, _, asked = mirror
    assert get(cache, f"{base}/other.txt") == b"not an archive file\n"
    assert get(cache, f"{base}/other.txt") == b"not an archive file\n"
    assert len(asked) == 2 and cache.stats.passed == 2
    with pytest.raises(urllib.error.HTTPError) as exc:
        get(cache, f"{base}/debian/pool/main/missing_1_amd64.deb")
    assert exc.value.code == 404
    assert not list(cache.store.rglob("missing*"))


def test_stop_removes_the_partial_downloads(cache: pkgcache.PackageCache) -> None:
    (cache.partial / "123-half.deb").write_bytes(b"x")
    cache.stop()
    assert not cache.partial.exists()


def test_only_archive_paths_are_stored(cache: pkgcache.PackageCache) -> None:
    assert cache.local_path("http://deb.debian.org/debian/pool/main/a/a_1.deb") == (
        cache.store / "deb.debian.org/debian/pool/main/a/a_1.deb"
    )
    assert cache.local_path("http://h/debian/dists/../../etc/passwd") is None
    assert cache.local_path("http://h/index.html") is None
    assert cache.local_path("https://h/debian/pool/a.deb") is None


OTHER_BAKE = """
import sys, time, urllib.request
from pathlib import Path
from bakeansible.builders.local import pkgcache
store = Path(sys.argv[1])
cache = pkgcache.PackageCache("127.0.0.1", store, store / ".partial/other-bake")
cache.start()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": cache.url}))
print("ready", flush=True)
sys.stdin.readline()
with opener.open(sys.argv[2], timeout=30) as response:
    size = len(response.read())
cache.stop()
print(size, cache.stats.fetched, cache.stats.hits, flush=True)
"""


def test_two_bake_processes_fetch_a_file_once(
    mirror: tuple[str, Path, list[str]], cache: pkgcache.PackageCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another bake process sharing the store, asking for the same package at the same time,
    waits for this one's download and is served the stored copy: the mirror is asked once."""
    import subprocess
    import sys
    import time

    base, root, asked = mirror
    url = f"{base}/debian/pool/main/n/nginx/nginx_1_amd64.deb"
    real_open = pkgcache._open

    def slow_open(*args: object, **kw: object) -> object:
        time.sleep(1.0)  # the download is still running when the other bake asks
        return real_open(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pkgcache, "_open", slow_open)
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_BAKE, str(cache.store), url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert other.stdout is not None and other.stdin is not None
    try:
        assert other.stdout.readline().strip() == "ready"
        mine = threading.Thread(target=lambda: get(cache, url))
        mine.start()
        time.sleep(0.3)  # this bake holds the file's lock, inside its slow fetch
        other.stdin.write("go\n")
        other.stdin.flush()
        mine.join(30)
        size, fetched, hits = other.stdout.readline().split()
    finally:
        other.kill()
        other.wait(10)
    assert int(size) == 150_000
    assert (int(fetched), int(hits)) == (0, 1), "the other bake was served the stored copy"
    assert cache.stats.fetched == 1
    assert asked == ["/debian/pool/main/n/nginx/nginx_1_amd64.deb"]
