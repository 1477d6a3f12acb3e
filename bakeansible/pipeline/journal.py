"""A durable journal of every resource a build creates, so nothing leaks even after ``kill -9``.

A resource is written *before* it is created (state ``intent``), updated with its id once it
exists (``created``) and marked ``gone`` once deleted. ``bake cleanup`` deletes everything not gone
of builds whose process is dead. SQLite in WAL mode, so several bake processes share it safely.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeansible.paths import state_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS builds (
    build_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    builder_type TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start TEXT NOT NULL,
    host TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id TEXT NOT NULL REFERENCES builds(build_id),
    kind TEXT NOT NULL,
    ident TEXT,
    data TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_build ON resources(build_id, state);
"""


def process_start_time(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot, or None if it is not running.

    Stored beside the pid so that a reused pid is not mistaken for the original process.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after the closing paren are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def process_alive(pid: int, start: str) -> bool:
    """Whether ``pid`` is still the process that started at ``start`` and has not exited.

    A zombie (exited, not yet reaped by its parent) counts as dead.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == start and fields[0] != "Z"


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
        shown = self.ident or self.data.get("name") or self.data.get("path") or "?"
        return f"{shown} ({self.state})"


@dataclass(frozen=True)
class BuildRecord:
    """One journaled build."""

    build_id: str
    name: str
    builder_type: str
    pid: int
    pid_start: str
    host: str
    started_at: float
    finished_at: float | None
    state: str

    @property
    def alive(self) -> bool:
        return self.host == os.uname().nodename and process_alive(self.pid, self.pid_start)


class Journal:
    """The resource journal, one SQLite file shared by every bake process of this user."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "journal.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    # builds -------------------------------------------------------------------------------
    def start_build(self, build_id: str, name: str, builder_type: str) -> None:
        pid = os.getpid()
        start = process_start_time(pid) or "?"
        with self._connect() as db:
            db.execute(
                "INSERT INTO builds VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'running')",
                (build_id, name, builder_type, pid, start, os.uname().nodename, time.time()),
            )

    def finish_build(self, build_id: str, state: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE builds SET state = ?, finished_at = ? WHERE build_id = ?",
                (state, time.time(), build_id),
            )

    def builds(self, limit: int = 50) -> list[BuildRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM builds ORDER BY started_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [BuildRecord(*row) for row in rows]

    def build(self, build_id: str) -> BuildRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM builds WHERE build_id = ?", (build_id,)).fetchone()
        return BuildRecord(*row) if row else None

    # resources ----------------------------------------------------------------------------
    def intend(self, build_id: str, kind: str, **data: Any) -> int:
        """Record that a resource is about to be created; returns its journal id."""
        now = time.time()
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO resources (build_id, kind, ident, data, state, created_at, updated_at)"
                " VALUES (?, ?, NULL, ?, 'intent', ?, ?)",
                (build_id, kind, json.dumps(data, sort_keys=True), now, now),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def created(self, rid: int, ident: str | None = None, **data: Any) -> None:
        """Record that the resource exists, with its id and any data learnt on creation."""
        with self._connect() as db:
            (old,) = db.execute("SELECT data FROM resources WHERE id = ?", (rid,)).fetchone()
            merged = {**json.loads(old), **data}
            db.execute(
                "UPDATE resources SET ident = COALESCE(?, ident), data = ?, state = 'created',"
                " updated_at = ? WHERE id = ?",
                (ident, json.dumps(merged, sort_keys=True), time.time(), rid),
            )

    def gone(self, rid: int) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE resources SET state = 'gone', updated_at = ? WHERE id = ?",
                (time.time(), rid),
            )

    def resource(self, rid: int) -> Resource:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, build_id, kind, ident, data, state FROM resources WHERE id = ?", (rid,)
            ).fetchone()
        return _resource(row)

    def open_resources(self, build_id: str | None = None) -> list[Resource]:
        """Resources not known to be gone, newest first (the order to delete them in)."""
        query = "SELECT id, build_id, kind, ident, data, state FROM resources WHERE state != 'gone'"
        args: tuple[Any, ...] = ()
        if build_id is not None:
            query += " AND build_id = ?"
            args = (build_id,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id DESC", args).fetchall()
        return [_resource(r) for r in rows]


def _resource(row: tuple[Any, ...]) -> Resource:
    rid, build_id, kind, ident, data, state = row
    return Resource(rid, build_id, kind, ident, json.loads(data), state)
