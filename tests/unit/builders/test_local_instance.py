"""The container's power-off waits until its systemd can take the shutdown request."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from bakeansible.builders.local.instance import wait_shutdown_ready

# Blocks SIGRTMIN+3 (as systemd does for its signalfd) after a moment.
LATE_BLOCKER = """
import signal, sys, time
time.sleep(0.3)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN + 3])
time.sleep(30)
"""


def test_waits_until_the_init_blocks_the_shutdown_signal() -> None:
    proc = subprocess.Popen([sys.executable, "-c", LATE_BLOCKER])
    try:
        assert wait_shutdown_ready(proc.pid, timeout=20)
        # It returned only once the signal was blocked, not at once.
        status = Path(f"/proc/{proc.pid}/status").read_text()
        (blocked,) = [int(line.split()[1], 16) for line in status.splitlines()
                      if line.startswith("SigBlk:")]  # fmt: skip
        assert blocked & 1 << (signal.SIGRTMIN + 3 - 1)
    finally:
        proc.kill()
        proc.wait()


def test_gives_up_after_the_timeout_and_on_a_gone_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not wait_shutdown_ready(proc.pid, timeout=0.3)
    finally:
        proc.kill()
        proc.wait()
    assert wait_shutdown_ready(proc.pid, timeout=5)  # reaped: nothing left to wait for
