"""Driving `bake` as a user (or CI) does: start it, wait for a line, send it a signal."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def bake_until(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    text: str,
    signum: signal.Signals | None,
    *,
    delay: float = 0.0,
    timeout: float = 300.0,
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start ``bake argv``; once a line contains ``text``, wait ``delay`` s and send ``signum``
    (None: send nothing, the caller decides when).

    Returns the process (its remaining output still to read) and the lines seen so far.
    """
    proc = subprocess.Popen(
        ["bake", *argv], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            time.sleep(delay)
            if signum is not None:
                proc.send_signal(signum)
            break
        assert time.monotonic() < deadline, "".join(seen)
    return proc, seen
