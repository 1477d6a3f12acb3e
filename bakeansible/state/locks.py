"""Locks between bake processes on any host, with who holds them.

``acquire`` takes a named lock (a PostgreSQL advisory lock, or a ``flock`` beside the SQLite
file), waiting while another process holds it and telling ``on_wait`` who that is. Whoever dies
holding a lock, however it dies, releases it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bakeansible.errors import BuildCancelled
from bakeansible.state.database import Database, Lock


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lock."""

    build_id: str
    build_name: str
    host: str
    pid: int
    taken_at: float = 0.0

    def describe(self) -> str:
        return (f"build '{self.build_name}' ({self.build_id[:12]}) on {self.host}, "
                f"pid {self.pid}")


def acquire(
    db: Database,
    name: str,
    build_id: str,
    build_name: str,
    *,
    cancel: threading.Event | None = None,
    on_wait: Callable[[Holder | None], None] | None = None,
    interval: float = 0.5,
) -> Lock:
    """Take lock ``name`` for ``build_id``, waiting as long as another process holds it.

    ``on_wait`` is called once, with the holder (None if it is not known yet), when the lock is
    busy. Raises BuildCancelled if ``cancel`` is set while waiting.
    """
    lock = db.lock(name)
    told = False
    while not lock.try_acquire():
        if not told and on_wait is not None:
            on_wait(holder(db, name))
            told = True
        if cancel is not None and cancel.wait(interval):
            lock.release()
            raise BuildCancelled(f"cancelled while waiting for lock {name}")
        if cancel is None:
            time.sleep(interval)
    try:
        db.execute(
            "INSERT INTO lock_holders (name, build_id, build_name, host, pid, taken_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
            " build_id = excluded.build_id, build_name = excluded.build_name,"
            " host = excluded.host, pid = excluded.pid, taken_at = excluded.taken_at",
            (name, build_id, build_name, os.uname().nodename, os.getpid(), time.time()),
        )
    except BaseException:
        lock.release()
        raise
    return lock


def holder(db: Database, name: str) -> Holder | None:
    """The process that took lock ``name`` last (it may have released it since)."""
    row = db.one(
        "SELECT build_id, build_name, host, pid, taken_at FROM lock_holders WHERE name = ?",
        (name,),
    )
    return Holder(*row) if row else None
