"""A durable journal of every resource a build creates, so nothing leaks even after ``kill -9``.

A resource is written *before* it is created (state ``intent``), updated with its id once it
exists (``created``) and marked ``gone`` once deleted. ``bake cleanup`` deletes everything not gone
of builds whose process is dead. It lives in the state database (``bakeansible.state``): an
embedded SQLite file in WAL mode shared safely by the bakes of one host, or a PostgreSQL server
shared by a team's hosts, where each running build also holds an advisory lock that tells every
host it is alive.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bakeansible.paths import state_dir
from bakeansible.procinfo import process_alive, process_start_time
from bakeansible.state import Database, Holder, Lock, Waiter, acquire, open_database, waiters
from bakeansible.state.errors import AT_RISK, DatabaseError, sqlite_error
from bakeansible.state.locks import holder

__all__ = ["AT_RISK", "BuildRecord", "Journal", "JournalError", "Resource", "journal_error",
           "set_journal_aside"]

# The journal's errors are the state database's (one database holds journal and registry);
# ``damaged`` tells a SQLite file that ``bake cleanup --reset-journal`` may set aside.
JournalError = DatabaseError


def journal_error(path: Path, exc: Exception | str) -> JournalError:
    """The error to show for ``exc`` met while using the SQLite journal at ``path``."""
    return sqlite_error(path, exc)


@dataclass(frozen=True)
class Resource:
    """One journaled resource."""

    id: int
    build_id: str
    kind: str
    ident: str | None
    data: dict[str, Any]
    state: str

    def describe(self) -> str:
        data = self.data
        shown = self.ident or data.get("name") or data.get("path") or data.get("what") or "?"
        if data.get("what") and self.ident:  # a host process: say which
            shown = f"{data['what']} pid {self.ident}"
        return f"{shown} ({self.state})"


@dataclass(frozen=True)
class BuildRecord:
    """One journaled build. ``lock_held``: whether its process holds its build lock, when the
    database can tell for any host (PostgreSQL); None on SQLite."""

    build_id: str
    name: str
    builder_type: str
    pid: int
    pid_start: str
    host: str
    started_at: float
    finished_at: float | None
    state: str
    lock_held: bool | None = None

    @property
    def local(self) -> bool:
        return self.host == os.uname().nodename

    @property
    def checkable(self) -> bool:
        """Whether this host can tell if the build is alive (its own, or a shared database)."""
        return self.local or self.lock_held is not None

    @property
    def alive(self) -> bool:
        """Alive for sure: its own process (same pid and start time) on this host, or, for
        another host's build, its build lock still held. A build of another host on SQLite
        cannot be checked and is not called alive: see ``checkable``."""
        if self.local:
            return process_alive(self.pid, self.pid_start)
        return bool(self.lock_held)


BUILD_COLUMNS = ("build_id, name, builder_type, pid, pid_start, host, started_at, finished_at,"
                 " state")
RESOURCE_COLUMNS = "id, build_id, kind, ident, data, state"


class Journal:
    """The resource journal, in the state database every bake process of this user (or, on
    PostgreSQL, of the team) shares."""

    def __init__(
        self, path: Path | None = None, *, timeout: float = 30.0, url: str | None = None
    ) -> None:
        """Open (or create, or migrate) the journal: the SQLite file ``path``, else the
        database ``url``, else ``$BAKE_DATABASE_URL``, else the default SQLite file. Raise
        JournalError if it is damaged, of another schema, locked for longer than ``timeout``
        seconds, not writable or unreachable."""
        if path is not None:
            url = f"sqlite://{path}"
        self.db: Database = open_database(url, timeout=timeout)
        self.path: Path | None = self.db.path
        self.url = self.db.url
        self.where = self.db.where
        self.timeout = timeout
        self._build_locks: dict[str, Lock] = {}
        self._mutex = threading.Lock()

    @staticmethod
    def default_path() -> Path:
        return state_dir() / "journal.sqlite"

    # builds -------------------------------------------------------------------------------
    def start_build(self, build_id: str, name: str, builder_type: str) -> None:
        pid = os.getpid()
        start = process_start_time(pid) or "?"
        if self.db.shared_locks:
            # Held as long as this process lives: how other hosts know the build is alive.
            lock = self.db.lock(f"build:{build_id}")
            if not lock.try_acquire():
                raise JournalError(
                    f"Build id {build_id} is already running against {self.where}.",
                    "Build ids are random: this is a bug, please report it.", damaged=False,
                )
            with self._mutex:
                self._build_locks[build_id] = lock
        self.db.execute(
            f"INSERT INTO builds ({BUILD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'running')",
            (build_id, name, builder_type, pid, start, os.uname().nodename, time.time()),
        )

    def finish_build(self, build_id: str, state: str) -> None:
        try:
            self.db.execute(
                "UPDATE builds SET state = ?, finished_at = ? WHERE build_id = ?",
                (state, time.time(), build_id),
            )
        finally:
            with self._mutex:
                lock = self._build_locks.pop(build_id, None)
            if lock is not None:
                lock.release()

    def builds(self, limit: int = 50) -> list[BuildRecord]:
        rows = self.db.execute(
            f"SELECT {BUILD_COLUMNS} FROM builds ORDER BY started_at DESC LIMIT ?", (limit,)
        )
        return self._records(rows)

    def build(self, build_id: str) -> BuildRecord | None:
        row = self.db.one(f"SELECT {BUILD_COLUMNS} FROM builds WHERE build_id = ?", (build_id,))
        return self._records([row])[0] if row else None

    def _records(self, rows: list[tuple[Any, ...]]) -> list[BuildRecord]:
        records = [BuildRecord(*row) for row in rows]
        foreign = [r for r in records if r.state == "running" and not r.local]
        held = self.db.held(f"build:{r.build_id}" for r in foreign) if foreign else None
        if held is None:
            return records
        return [
            rec if rec.local else replace(rec, lock_held=f"build:{rec.build_id}" in held)
            for rec in records
        ]

    def lock_image(
        self,
        image: str,
        build_id: str,
        name: str,
        *,
        cancel: threading.Event | None = None,
        on_wait: Callable[[Holder | None], None] | None = None,
    ) -> Lock:
        """Take the lock of image ``image`` (builder type and image name) for this build,
        waiting while another build of it runs on any host sharing this database. The caller
        releases it when the build ends; a killed holder releases it by dying."""
        return acquire(self.db, f"image:{image}", build_id, name, cancel=cancel, on_wait=on_wait)

    def lock_holder(self, lock: str) -> Holder | None:
        """Who took ``lock`` last (it may have released it since)."""
        return holder(self.db, lock)

    def waiting(self) -> list[Waiter]:
        """Builds waiting for the lock of an image (another build of it runs), on any host."""
        return waiters(self.db)

    # resources ----------------------------------------------------------------------------
    def intend(self, build_id: str, kind: str, **data: Any) -> int:
        """Record that a resource is about to be created; returns its journal id."""
        now = time.time()
        return self.db.insert(
            "INSERT INTO resources (build_id, kind, ident, data, state, created_at, updated_at)"
            " VALUES (?, ?, NULL, ?, 'intent', ?, ?)",
            (build_id, kind, json.dumps(data, sort_keys=True), now, now),
        )

    def created(self, rid: int, ident: str | None = None, **data: Any) -> None:
        """Record that the resource exists, with its id and any data learnt on creation."""
        with self.db.transaction() as conn:
            row = conn.one("SELECT data FROM resources WHERE id = ?", (rid,))
            assert row is not None, f"no journaled resource {rid}"
            merged = {**json.loads(row[0]), **data}
            conn.execute(
                "UPDATE resources SET ident = COALESCE(?, ident), data = ?, state = 'created',"
                " updated_at = ? WHERE id = ?",
                (ident, json.dumps(merged, sort_keys=True), time.time(), rid),
            )

    def gone(self, rid: int) -> None:
        self.db.execute(
            "UPDATE resources SET state = 'gone', updated_at = ? WHERE id = ?",
            (time.time(), rid),
        )

    def resource(self, rid: int) -> Resource:
        row = self.db.one(f"SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = ?", (rid,))
        assert row is not None, f"no journaled resource {rid}"
        return _resource(row)

    def open_resources(self, build_id: str | None = None) -> list[Resource]:
        """Resources not known to be gone, newest first (the order to delete them in)."""
        query = f"SELECT {RESOURCE_COLUMNS} FROM resources WHERE state != 'gone'"
        args: tuple[Any, ...] = ()
        if build_id is not None:
            query += " AND build_id = ?"
            args = (build_id,)
        return [_resource(r) for r in self.db.execute(query + " ORDER BY id DESC", args)]


def _resource(row: tuple[Any, ...]) -> Resource:
    rid, build_id, kind, ident, data, state = row
    return Resource(rid, build_id, kind, ident, json.loads(data), state)


def set_journal_aside(path: Path) -> Path:
    """Rename a damaged journal (and its -wal/-shm files) to ``<name>.damaged-<time>``, so a
    new journal can start while the old one stays for inspection; return the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = path.with_name(path.name + suffix)
        if src.exists():
            src.rename(aside.with_name(aside.name + suffix))
    return aside
