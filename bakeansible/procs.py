"""Running host tools: cancellable subprocesses and the check that a tool is installed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bakeansible.errors import BakeError, BuildCancelled, PreflightError

if TYPE_CHECKING:
    from bakeansible.pipeline.context import BuildContext

# Which Debian package provides each host tool bake runs.
TOOL_PACKAGES = {
    "systemd-nspawn": "systemd-container",
    "mmdebstrap": "mmdebstrap",
    "zstd": "zstd",
    "tar": "tar",
    "mount": "mount",
    "ssh": "openssh-client",
    "ip": "iproute2",
    "nft": "nftables",
}


def require_tools(*tools: str) -> None:
    """Raise PreflightError naming each missing tool and the package that provides it."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pkgs = sorted({TOOL_PACKAGES.get(t, t) for t in missing})
        raise PreflightError(
            f"Missing host tool(s): {', '.join(missing)}.",
            hint=f"Install them with: apt-get install -y {' '.join(pkgs)}",
        )


def run_cancellable(
    argv: Sequence[str],
    *,
    cancel: threading.Event,
    log_path: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    what: str = "",
    cwd: Path | None = None,
    owner: BuildContext | None = None,
) -> None:
    """Run ``argv`` in its own session (a terminal's Ctrl-C reaches bake, not the child).

    Terminates its whole process group (``tar`` and the ``zstd`` it starts, mmdebstrap and its
    apt) when ``cancel`` is set. With ``owner``, the child carries the build's marker and is
    journaled (pid and start time) for ``bake cleanup``. Output goes to ``log_path`` (and line
    by line to ``on_line``). Raises BakeError with the tail of the output on a non-zero exit.
    """
    from bakeansible.pipeline.host import child_env
    from bakeansible.procinfo import process_start_time

    name = what or Path(argv[0]).name
    rid = owner.record_intent("host.process", what=name) if owner else None
    log = log_path.open("ab") if log_path else None
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
            env=child_env(owner.build_id) if owner else None,
        )
        if owner:
            owner.record_created(
                rid, str(proc.pid), pid=proc.pid, start=process_start_time(proc.pid)
            )
        tail: list[str] = []

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                if log:
                    log.write(raw)
                line = raw.decode(errors="replace").rstrip("\n")
                tail.append(line)
                del tail[:-20]
                if on_line:
                    on_line(line)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        while proc.poll() is None:
            if cancel.wait(0.2):
                # The leader is not reaped before wait() returns, so its pid still names
                # the group here.
                _signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                    proc.wait()
                reader.join(5)
                raise BuildCancelled("interrupted")
        reader.join(5)
        if proc.returncode != 0:
            detail = "\n".join(tail[-10:])
            raise BakeError(f"{name} failed with exit code {proc.returncode}:\n{detail}")
    finally:
        if log:
            log.close()
        if owner:
            owner.record_gone(rid)


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass
