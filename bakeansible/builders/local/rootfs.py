"""Source root filesystems: Debian bases built once with mmdebstrap, and extracted tarballs.

Both are cached under ``<cache>/rootfs/<key>`` and used read-only, as the lower layer of each
instance's overlay. Building happens in a temporary directory renamed into place, under a lock,
so concurrent builds wait for one another instead of building twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bakeansible.artifacts.checksum import file_digest
from bakeansible.builders.local.config import DEFAULT_PACKAGES, SUITES
from bakeansible.errors import BakeError
from bakeansible.paths import cache_dir
from bakeansible.procs import run_cancellable

if TYPE_CHECKING:
    from bakeansible.pipeline.context import BuildContext

# python3-apt lets Ansible's apt module work without installing it first on every build.
BASE_PACKAGES = (*DEFAULT_PACKAGES, "python3-apt")
TARBALL_SUFFIXES = (".tar", ".tar.zst", ".tzst", ".tar.gz", ".tgz", ".tar.xz")

# Run inside the new root by mmdebstrap: no host keys or machine id in the shared base; every
# instance (and every image) generates its own on first boot.
CUSTOMIZE = (
    'rm -f "$1"/etc/ssh/ssh_host_*; '
    'truncate -s 0 "$1"/etc/machine-id; rm -f "$1"/var/lib/dbus/machine-id; '
    'rm -rf "$1"/var/lib/apt/lists/*_Packages "$1"/var/cache/apt/*.bin'
)


def is_tarball(source: str) -> bool:
    return source.endswith(TARBALL_SUFFIXES)


def parse_debian_source(source: str) -> str:
    """``debian:bookworm`` -> ``bookworm``; raise BakeError for anything else."""
    distro, _, suite = source.partition(":")
    if distro != "debian" or suite not in SUITES:
        raise BakeError(
            f"Unknown source {source!r}: expected debian:{' or debian:'.join(SUITES)}, "
            "or a path to a root filesystem tarball."
        )
    return suite


def base_key(suite: str, packages: tuple[str, ...], mirror: str) -> str:
    digest = hashlib.sha256("\n".join([suite, mirror, *sorted(packages)]).encode()).hexdigest()
    return f"debian-{suite}-{digest[:12]}"


def _complete(target: Path) -> Path:
    """The marker written beside (not inside) a finished root, so images never contain it."""
    return target.with_name(target.name + ".complete")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build_once(target: Path, build: Callable[[Path], None], stamp: str) -> Path:
    """``target``, unless complete already: ``build(tmp)`` under the lock, then renamed into
    place; ``stamp`` is written to its completion marker."""
    if _complete(target).exists():
        return target
    with _locked(target.with_name(f"{target.name}.lock")):
        if _complete(target).exists():
            return target
        tmp = target.with_name(f"{target.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            build(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        _complete(target).write_text(stamp)
        return target


def ensure_base_rootfs(
    suite: str = "bookworm",
    extra_packages: tuple[str, ...] = (),
    *,
    mirror: str = "",
    cancel: threading.Event | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    root: Path | None = None,
    owner: BuildContext | None = None,
) -> Path:
    """The cached Debian base for ``suite``, built with mmdebstrap on first use."""
    packages = tuple(dict.fromkeys((*BASE_PACKAGES, *extra_packages)))
    store = (root or cache_dir()) / "rootfs"
    target = store / base_key(suite, packages, mirror)

    def build(tmp: Path) -> None:
        argv = [
            "mmdebstrap",
            "--variant=apt",
            "--include=" + ",".join(packages),
            "--customize-hook=" + CUSTOMIZE,
            suite,
            str(tmp),
        ]
        if mirror:
            argv.append(mirror)
        progress(f"Building the debian:{suite} base root filesystem with mmdebstrap (once)...")
        started = time.monotonic()
        log_path = store / f"{target.name}.log"

        def on_line(line: str) -> None:
            if line.startswith("I: "):
                progress(f"mmdebstrap: {line[3:]}")

        run_cancellable(
            argv,
            cancel=cancel or threading.Event(),
            log_path=log_path,
            on_line=on_line,
            what="mmdebstrap",
            owner=owner,
        )
        progress(f"Base root filesystem ready in {time.monotonic() - started:.0f}s: {target}")

    return _build_once(target, build, f"{suite} {' '.join(packages)}\n")


def ensure_tarball_rootfs(
    tarball: Path,
    *,
    cancel: threading.Event | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    root: Path | None = None,
    owner: BuildContext | None = None,
) -> Path:
    """Extract a root filesystem tarball (e.g. an earlier bake image) once, keyed by content."""
    if not tarball.is_file():
        raise BakeError(f"Source tarball {tarball} does not exist or is not a file.")
    store = (root or cache_dir()) / "rootfs"
    target = store / f"tar-{file_digest(tarball)[:16]}"

    def build(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        progress(f"Extracting source tarball {tarball.name}...")
        argv = ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", str(tarball)]
        if tarball.name.endswith((".zst", ".tzst")):
            argv[1:1] = ["-I", "zstd -d -T0"]
        run_cancellable(
            argv, cancel=cancel or threading.Event(), what="tar", cwd=tmp, owner=owner
        )

    return _build_once(target, build, f"{tarball}\n")
