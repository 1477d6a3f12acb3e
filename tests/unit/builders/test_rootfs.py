"""The source root cache: half-written, damaged and locked entries, and stale lock files."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bakeansible.builders.local.rootfs import _build_once
from bakeansible.errors import BakeError, BuildCancelled

REPO = Path(__file__).resolve().parents[3]


def _make_root(tmp: Path) -> None:
    (tmp / "usr/sbin").mkdir(parents=True)
    (tmp / "usr/sbin/sshd").write_text("")
    (tmp / "sbin").symlink_to("usr/sbin")
    (tmp / "usr/sbin/init").symlink_to("/lib/systemd/systemd")  # absolute, like Debian's


def test_a_half_written_entry_is_rebuilt(tmp_path: Path) -> None:
    target = tmp_path / "tar-1"
    (target / "junk").mkdir(parents=True)  # killed before its completion marker was written
    assert _build_once(target, _make_root, "stamp\n") == target
    assert (target / "usr/sbin/sshd").is_file() and not (target / "junk").exists()
    assert (tmp_path / "tar-1.complete").read_text() == "stamp\n"


def test_a_complete_entry_with_a_damaged_tree_is_reported(tmp_path: Path) -> None:
    target = tmp_path / "tar-1"
    _build_once(target, _make_root, "stamp\n")
    (target / "usr/sbin/sshd").unlink()
    with pytest.raises(BakeError) as err:
        _build_once(target, _make_root, "stamp\n")
    assert err.value.message == (
        f"The cached source root filesystem {target} is damaged: /usr/sbin/sshd missing."
    )
    assert f"rm -rf {target} {target}.complete" in (err.value.hint or "")


def test_a_source_that_is_no_root_is_refused_and_not_kept(tmp_path: Path) -> None:
    target = tmp_path / "tar-1"
    with pytest.raises(BakeError, match="src is not a bootable root filesystem: /sbin/init"):
        _build_once(target, lambda tmp: tmp.mkdir(), "x", source="src")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tar-1.lock"]


def test_a_lock_file_left_by_a_dead_holder_does_not_block(tmp_path: Path) -> None:
    target = tmp_path / "tar-1"
    dead = subprocess.run(["true"], check=True)
    assert dead.returncode == 0
    (tmp_path / "tar-1.lock").write_text("4194305 123\n")  # above pid_max: never alive
    messages: list[str] = []
    _build_once(target, _make_root, "x", progress=messages.append)
    assert messages == [], "no waiting on a lock nobody holds"


def test_a_live_holder_is_named_and_the_wait_can_be_cancelled(tmp_path: Path) -> None:
    target = tmp_path / "tar-1"
    lock = tmp_path / "tar-1.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         f"fh = open({str(lock)!r}, 'a+')\n"
         "fcntl.flock(fh, fcntl.LOCK_EX)\n"
         f"sys.path.insert(0, {str(REPO)!r})\n"
         "from bakeansible.procinfo import process_start_time\n"
         "start = process_start_time(os.getpid())\n"
         "fh.write(f'{os.getpid()} {start}\\n'); fh.flush()\n"
         "print('locked', flush=True); time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        cancel = threading.Event()
        messages: list[str] = []
        errors: list[BaseException] = []

        def build() -> None:
            try:
                _build_once(target, _make_root, "x", progress=messages.append, cancel=cancel)
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=build)
        worker.start()
        for _ in range(100):
            if messages:
                break
            worker.join(0.05)
        cancel.set()
        worker.join(5)
        assert not worker.is_alive()
    finally:
        holder.kill()
        holder.wait()
    (message,) = messages
    assert message.startswith(f"Waiting for pid {holder.pid} ({sys.executable} -c"), message
    assert f"(lock {lock})" in message
    assert [type(e) for e in errors] == [BuildCancelled]
    assert not target.exists()


def test_the_base_identity_follows_its_package_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Debian base rebuilt from other package versions is a new source for the fingerprint."""
    from bakeansible.builders.local.rootfs import base_cache_path, base_identity

    monkeypatch.setenv("BAKE_CACHE_DIR", str(tmp_path))
    target = base_cache_path("bookworm", (), "")
    assert base_identity("bookworm", (), "") == f"{target.name} (not built yet)"
    status = target / "var/lib/dpkg/status"

    def build(tmp: Path) -> None:
        _make_root(tmp)
        (tmp / "var/lib/dpkg").mkdir(parents=True)
        (tmp / "var/lib/dpkg/status").write_text("Package: nginx\nVersion: 1.22.1-9\n")

    _build_once(target, build, "stamp\n")
    first = base_identity("bookworm", (), "")
    assert first.startswith(f"{target.name} dpkg:")
    status.write_text("Package: nginx\nVersion: 1.22.1-9+deb12u1\n")
    assert base_identity("bookworm", (), "") not in (first, f"{target.name} (not built yet)")
    assert base_identity("bookworm", ("curl",), "").endswith("(not built yet)")
