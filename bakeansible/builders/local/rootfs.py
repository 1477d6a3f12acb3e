"""Source root filesystems: Debian bases built once with mmdebstrap, and extracted tarballs.

Both are cached under ``<cache>/rootfs/<key>`` and used read-only, as the lower layer of each
instance's overlay. Building happens in a temporary directory renamed into place, under a lock,
so concurrent builds wait for one another instead of building twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bakeansible.artifacts.checksum import file_digest
from bakeansible.builders.local.config import DEFAULT_PACKAGES, SUITES
from bakeansible.errors import BakeError, BuildCancelled
from bakeansible.paths import cache_dir
from bakeansible.pipeline.progress import SizeProgress, tree_size
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


# What every bootable source root has: the container's PID 1 and the sshd bake logs in with.
# (/sbin/init is a symlink, often absolute: only its presence is checked, never its target on
# the host.)
REQUIRED = ("sbin/init", "usr/sbin/sshd")

TARBALL_MAGIC = {
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
}


def _complete(target: Path) -> Path:
    """The marker written beside (not inside) a finished root, so images never contain it."""
    return target.with_name(target.name + ".complete")


def missing_parts(root: Path) -> list[str]:
    """The parts of a bootable root that ``root`` lacks (empty when it looks whole)."""
    return ["/" + rel for rel in REQUIRED if not os.path.lexists(root / rel)]


def check_cache_entry(target: Path) -> None:
    """Raise BakeError if ``target`` is marked complete but its tree is damaged.

    An entry without its completion marker is half-written and simply rebuilt; one with the
    marker is trusted by every build, so damage there must be reported, not booted.
    """
    if not _complete(target).exists():
        return
    missing = missing_parts(target) if target.is_dir() else ["the whole tree"]
    if missing:
        raise BakeError(
            f"The cached source root filesystem {target} is damaged: "
            f"{', '.join(missing)} missing.",
            hint=f"Remove it and bake again to rebuild it: rm -rf {target} {_complete(target)}",
        )


def check_tarball(tarball: Path) -> None:
    """Raise BakeError unless ``tarball`` is a readable tar archive (plain, zstd, gzip, xz)."""
    try:
        with tarball.open("rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise BakeError(
            f"Source tarball {tarball} cannot be read ({exc.strerror}).",
            hint="Check its permissions, or point --source at another image.",
        ) from None
    if any(head.startswith(magic) for magic in TARBALL_MAGIC) or head[257:262] == b"ustar":
        return
    raise BakeError(
        f"Source tarball {tarball} is not a tar archive (nor a zstd, gzip or xz compressed one).",
        hint="Use a root filesystem tarball, e.g. an image an earlier bake wrote.",
    )


def _holder(lock: Path) -> str:
    """Who holds ``lock``, from the pid and start time each holder writes into it."""
    from bakeansible.procinfo import process_alive

    pid, _, start = lock.read_text().strip().partition(" ")
    if not pid.isdigit() or not process_alive(int(pid), start):
        return "a process that inherited the lock" + (f" from pid {pid}" if pid else "")
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmd = "?"
    return f"pid {pid} ({cmd[:120]})"


@contextmanager
def _locked(
    path: Path,
    what: str,
    progress: Callable[[str], None] = lambda _msg: None,
    cancel: threading.Event | None = None,
) -> Iterator[None]:
    """Hold the flock on ``path``. The kernel drops a flock when its holder dies, so a lock
    file left by kill -9 never blocks; a live holder is named and waited for (cancellably)."""
    from bakeansible.procinfo import process_start_time

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    progress(f"Waiting for {_holder(path)}, which is preparing {what} "
                             f"(lock {path})...")
                    told = True
                if cancel is not None and cancel.wait(0.5):
                    raise BuildCancelled("interrupted") from None
                if cancel is None:
                    time.sleep(0.5)
        try:
            fh.truncate(0)
            fh.write(f"{os.getpid()} {process_start_time(os.getpid())}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build_once(
    target: Path,
    build: Callable[[Path], None],
    stamp: str,
    progress: Callable[[str], None] = lambda _msg: None,
    cancel: threading.Event | None = None,
    source: str = "",
) -> Path:
    """``target``, unless complete already: ``build(tmp)`` under the lock, checked, then renamed
    into place; ``stamp`` is written to its completion marker."""
    check_cache_entry(target)
    if _complete(target).exists():
        return target
    lock = target.with_name(f"{target.name}.lock")
    with _locked(lock, target.name, progress, cancel):
        check_cache_entry(target)
        if _complete(target).exists():
            return target
        tmp = target.with_name(f"{target.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            build(tmp)
            if missing := missing_parts(tmp):
                raise BakeError(
                    f"{source or target.name} is not a bootable root filesystem: "
                    f"{', '.join(missing)} missing.",
                    hint="Use a Debian root filesystem with systemd and openssh-server, "
                    "e.g. an image an earlier bake wrote.",
                )
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        # Without its marker the old entry was half-written (a build killed meanwhile).
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
    say: Callable[[str], None] | None = None,
) -> Path:
    """The cached Debian base for ``suite``, built with mmdebstrap on first use; ``say`` hears
    how many bytes it has written as it goes."""
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

        with SizeProgress(
            say or progress, f"Building the debian:{suite} base", lambda: tree_size(tmp)
        ):
            run_cancellable(
                argv,
                cancel=cancel or threading.Event(),
                log_path=log_path,
                on_line=on_line,
                what="mmdebstrap",
                owner=owner,
            )
        progress(f"Base root filesystem ready in {time.monotonic() - started:.0f}s: {target}")

    return _build_once(
        target, build, f"{suite} {' '.join(packages)}\n", progress, cancel, f"debian:{suite}"
    )


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
    check_tarball(tarball)
    target = tarball_cache_path(tarball, root)

    def build(tmp: Path) -> None:
        tmp.mkdir(parents=True)
        progress(f"Extracting source tarball {tarball.name}...")
        argv = ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", str(tarball)]
        if tarball.name.endswith((".zst", ".tzst")):
            argv[1:1] = ["-I", "zstd -d -T0"]
        try:
            run_cancellable(
                argv, cancel=cancel or threading.Event(), what="tar", cwd=tmp, owner=owner
            )
        except BuildCancelled:
            raise
        except BakeError as exc:
            raise BakeError(
                f"Could not extract source tarball {tarball}: {exc.message}",
                hint="Check that it is a whole root filesystem tarball (not truncated).",
            ) from None

    return _build_once(target, build, f"{tarball}\n", progress, cancel, f"Source tarball {tarball}")


def remove_tarball_rootfs(target: Path) -> None:
    """Remove an extracted tarball (``tarball_cache_path``'s ``target``) from the cache,
    under its lock, if it is there."""
    lock = target.with_name(f"{target.name}.lock")
    with _locked(lock, target.name):
        _complete(target).unlink(missing_ok=True)
        shutil.rmtree(target, ignore_errors=True)
    lock.unlink(missing_ok=True)


def base_cache_path(
    suite: str, extra_packages: tuple[str, ...], mirror: str, root: Path | None = None
) -> Path:
    """Where the Debian base of ``suite`` (with ``extra_packages``) is cached."""
    packages = tuple(dict.fromkeys((*BASE_PACKAGES, *extra_packages)))
    return (root or cache_dir()) / "rootfs" / base_key(suite, packages, mirror)


def tarball_cache_path(tarball: Path, root: Path | None = None) -> Path:
    """Where the extracted ``tarball`` is cached (keyed by its content)."""
    return (root or cache_dir()) / "rootfs" / f"tar-{file_digest(tarball)[:16]}"


def base_identity(suite: str, extra_packages: tuple[str, ...], mirror: str) -> str:
    """The Debian base as an input of a build: its cache key and, once built, the digest of its
    package list (``var/lib/dpkg/status``, versions included), so a base rebuilt from newer
    packages is a different source. Before the first build: the key and ``(not built yet)``."""
    target = base_cache_path(suite, extra_packages, mirror)
    status = target / "var/lib/dpkg/status"
    if _complete(target).exists() and status.is_file():
        return f"{target.name} dpkg:{file_digest(status)[:16]}"
    return f"{target.name} (not built yet)"
