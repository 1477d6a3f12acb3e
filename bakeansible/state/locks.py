"""Locks between bake processes on any host, with who holds them.

``acquire`` takes a named lock (a PostgreSQL advisory lock, or a ``flock`` beside the SQLite
file), waiting while another process holds it and telling ``on_wait`` who that is. Whoever dies
holding a lock, however it dies, releases it. A process waiting for a lock is listed in
``lock_waiters`` (``waiters``), with a heartbeat, so ``bake builds`` shows waiting builds of
every host; a waiter killed while waiting simply stops beating and drops out of the list.
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


@dataclass(frozen=True)
class Waiter:
    """A build waiting for a lock (``lock``), and since when."""

    build_id: str
    lock: str
    build_name: str
    host: str
    pid: int
    since: float


#: How often a waiter says it is still waiting, and how long after its last word it is
#: taken for gone (killed while waiting).
HEARTBEAT = 10.0
STALE_AFTER = 3 * HEARTBEAT


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
    waiting_since: float | None = None
    beat = 0.0
    try:
        while not lock.try_acquire():
            now = time.time()
            if waiting_since is None:
                waiting_since = now
                if on_wait is not None:
                    on_wait(holder(db, name))
            if now - beat >= HEARTBEAT:
                _say_waiting(db, name, build_id, build_name, waiting_since, now)
                beat = now
            if cancel is not None and cancel.wait(interval):
                lock.release()
                raise BuildCancelled(f"cancelled while waiting for lock {name}")
            if cancel is None:
                time.sleep(interval)
    finally:
        if waiting_since is not None:
            db.execute("DELETE FROM lock_waiters WHERE build_id = ?", (build_id,))
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


def waiters(db: Database) -> list[Waiter]:
    """The builds waiting for a lock now (on any host sharing ``db``), longest waiting first."""
    rows = db.execute(
        "SELECT build_id, name, build_name, host, pid, since FROM lock_waiters"
        " WHERE seen_at > ? ORDER BY since",
        (time.time() - STALE_AFTER,),
    )
    return [Waiter(*row) for row in rows]


def _say_waiting(
    db: Database, name: str, build_id: str, build_name: str, since: float, now: float
) -> None:
    """Record (or refresh) this build's wait, dropping waits nobody has refreshed lately."""
    with db.transaction() as conn:
        conn.execute("DELETE FROM lock_waiters WHERE seen_at <= ?", (now - STALE_AFTER,))
        conn.execute(
            "INSERT INTO lock_waiters (build_id, name, build_name, host, pid, since, seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (build_id) DO UPDATE SET"
            " seen_at = excluded.seen_at",
            (build_id, name, build_name, os.uname().nodename, os.getpid(), since, now),
        )
