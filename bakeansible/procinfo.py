"""What ``/proc/<pid>/stat`` says about a process: its state and its start time.

The one parser of that line in bake (and its tests). The command name (field 2) may contain
spaces and parentheses; the fields after its last closing paren are fixed.
"""

from __future__ import annotations

from pathlib import Path


def _fields(pid: int) -> list[str] | None:
    """The fields after the command name (index 0 is field 3, the state); None if no process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (R, S, D, Z, ...), or None if there is no such process."""
    fields = _fields(pid)
    return fields[0] if fields else None


def process_running(pid: int) -> bool:
    """Whether ``pid`` exists and has not exited (a zombie, not yet reaped, has exited)."""
    return process_state(pid) not in (None, "Z")


def process_start_time(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (field 22), or None if it is gone.

    Stored beside the pid so that a reused pid is not mistaken for the original process.
    """
    fields = _fields(pid)
    return fields[19] if fields else None


def process_alive(pid: int, start: str) -> bool:
    """Whether ``pid`` is still the process that started at ``start`` and has not exited.

    A zombie (exited, not yet reaped by its parent) counts as dead.
    """
    fields = _fields(pid)
    return fields is not None and fields[19] == start and fields[0] != "Z"
