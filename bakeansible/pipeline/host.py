"""What a build owns on the host outside its builder: its temporary directory and its child
processes (ansible-playbook and its workers, the ssh ControlMaster, tar, zstd, mmdebstrap).

Every child runs in a session of its own (so a terminal's Ctrl-C reaches bake alone, and the
whole process group can be killed at once) with ``BAKE_BUILD_ID=<build id>`` in its
environment. Descendants inherit the environment even when they leave the group (ssh's
ControlPersist master daemonizes into a new session), so ``kill_build_processes`` finds every
one of them, also after bake itself was killed with -9 (``bake cleanup`` runs it through the
``host.process`` deleter). Matching the exact build id in the environment cannot hit a reused
pid; the recorded leader pid is only signalled if its start time still matches.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from bakeansible.pipeline.journal import Resource
from bakeansible.pipeline.reaper import deleter
from bakeansible.procinfo import process_alive, process_start_time

MARKER = "BAKE_BUILD_ID"

# ssh binds a ControlMaster socket at <dir>/cp/<10-char hash>, first under a temporary name
# 17 characters longer, and a unix socket path holds at most 107 bytes (sun_path is 108 with
# the NUL). So the build's directory name is short ("bake-" + 12 hex digits) and a $TMPDIR
# longer than this falls back to /tmp: a build in a deep TMPDIR must not fail to connect.
_SOCKET_TAIL = len("/bake-0123456789ab/cp/0123456789.0123456789abcdef")
MAX_TEMP_ROOT = 107 - _SOCKET_TAIL


def child_env(build_id: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child of build ``build_id``: bake's own, plus the marker."""
    return {**os.environ, **(extra or {}), MARKER: build_id}


def temp_root() -> Path:
    """``$TMPDIR`` (tempfile's choice), or /tmp when that is too long for a socket path."""
    root = tempfile.gettempdir()
    return Path(root) if len(root) <= MAX_TEMP_ROOT else Path("/tmp")


def temp_dir_path(build_id: str) -> Path:
    """Where build ``build_id`` keeps short-lived host files (keys, ssh control sockets)."""
    return temp_root() / f"bake-{build_id[:12]}"


def of_build(pid: int, build_id: str) -> bool:
    """Whether live process ``pid`` carries build ``build_id``'s marker."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    if f"{MARKER}={build_id}".encode() not in environ.split(b"\0"):
        return False
    start = process_start_time(pid)
    return start is not None and process_alive(pid, start)


def build_processes(build_id: str) -> list[int]:
    """Live processes whose environment carries ``BAKE_BUILD_ID=<build_id>``."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [pid for pid in pids if of_build(pid, build_id)]


def kill_build_processes(build_id: str, grace: float = 5.0) -> list[int]:
    """SIGTERM every process of the build, SIGKILL those still there after ``grace`` seconds;
    return the pids signalled."""
    pids = build_processes(build_id)
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while (left := build_processes(build_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_all(left, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while build_processes(build_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pids


def kill_group(pid: int, start: str | None, signum: int = signal.SIGKILL) -> None:
    """Signal the process group led by ``pid``, if ``pid`` is still the process started at
    ``start`` (a reused pid is left alone)."""
    if start is None or process_start_time(pid) != start:
        return
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


@deleter("host.process")
def delete_processes(res: Resource) -> None:
    """End a dead build's child: its process group, then anything carrying its marker."""
    pid = res.data.get("pid")
    if pid:
        kill_group(int(pid), res.data.get("start"))
    kill_build_processes(res.build_id)
    if left := build_processes(res.build_id):
        raise OSError(f"processes {left} of build {res.build_id[:12]} survived SIGKILL")


@deleter("host.directory")
def delete_directory(res: Resource) -> None:
    path = Path(res.data["path"])
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        raise OSError(f"could not remove {path}")
