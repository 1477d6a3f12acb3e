"""Progress of long local jobs (the Debian base build, the snapshot): how many bytes so far.

A ``SizeProgress`` measures its job's output (a growing file or directory tree) from a thread
and says ``<subject>: 231.4 MB (1m10s)`` after ``first`` seconds and then every ``every``
seconds, plus one last line on completion. Plain lines, no spinner: the same text reaches a
terminal, a log file and ``-machine-readable`` (``ui,say``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

PROGRESS_FIRST = 5.0
PROGRESS_EVERY = 30.0


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.2f} GB"


def format_elapsed(seconds: float) -> str:
    """``42s``, ``2m10s``, ``1h03m``: how long a step has lasted, as the progress lines show it."""
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tree_size(root: Path) -> int:
    """Bytes of the regular files under ``root``, not crossing into other filesystems (the
    /proc and /sys a chroot mounts while it is being built)."""
    try:
        dev = root.lstat().st_dev
    except OSError:
        return 0
    total = 0
    stack = [str(root)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if st.st_dev == dev:
                        stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += st.st_size
    return total


class SizeProgress:
    """Says how far a job has got, as a context manager around the job."""

    def __init__(
        self,
        say: Callable[[str], None],
        subject: str,
        measure: Callable[[], int],
        *,
        first: float = PROGRESS_FIRST,
        every: float = PROGRESS_EVERY,
        done: Callable[[int, float], str] | None = None,
    ) -> None:
        self.say, self.subject, self.measure = say, subject, measure
        self.first, self.every = first, every
        self.done = done
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="progress", daemon=True)
        self.started = 0.0

    def __enter__(self) -> SizeProgress:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        if exc_type is None:
            took = time.monotonic() - self.started
            size = self.measure()
            if self.done is not None:
                self.say(self.done(size, took))
            else:
                self.say(f"{self.subject}: {human_size(size)} in {format_elapsed(took)}")

    def _tick(self) -> None:
        wait = self.first
        while not self._stop.wait(wait):
            self.say(
                f"{self.subject}: {human_size(self.measure())} so far "
                f"({format_elapsed(time.monotonic() - self.started)})"
            )
            wait = self.every
