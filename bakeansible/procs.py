"""Running host tools: cancellable subprocesses and the check that a tool is installed."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from bakeansible.errors import BakeError, BuildCancelled, PreflightError

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
) -> None:
    """Run ``argv`` in its own session (a terminal's Ctrl-C reaches bake, not the child).

    Terminates it when ``cancel`` is set. Output goes to ``log_path`` (and line by line to
    ``on_line``). Raises BakeError with the tail of the output on a non-zero exit.
    """
    log = log_path.open("ab") if log_path else None
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
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
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                reader.join(5)
                raise BuildCancelled("interrupted")
        reader.join(5)
        if proc.returncode != 0:
            name = what or Path(argv[0]).name
            detail = "\n".join(tail[-10:])
            raise BakeError(f"{name} failed with exit code {proc.returncode}:\n{detail}")
    finally:
        if log:
            log.close()
