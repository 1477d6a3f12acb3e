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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeansible.errors import BakeError
from bakeansible.paths import state_dir
from bakeansible.procinfo import process_alive, process_start_time

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

# The columns each table must have; a file with other tables or columns is not this journal.
COLUMNS = {
    "builds": ("build_id", "name", "builder_type", "pid", "pid_start", "host", "started_at",
               "finished_at", "state"),
    "resources": ("id", "build_id", "kind", "ident", "data", "state", "created_at",
                  "updated_at"),
}

AT_RISK = (
    "The resources it tracked may still exist: containers (systemd-nspawn), overlay mounts and "
    "work directories under {instances}, network namespaces (bake-*), veth links (bk-*) and "
    "nftables tables (bake_*), host processes of bake (ansible-playbook, ssh, tar), "
    "and cloud instances, VPCs, security groups and key pairs."
)


class JournalError(BakeError):
    """The journal cannot be used. ``damaged`` when its content is unreadable (not when it is
    only locked or read-only): then ``bake cleanup --reset-journal`` may move it aside."""

    def __init__(self, message: str, hint: str, *, damaged: bool) -> None:
        super().__init__(message, hint)
        self.damaged = damaged


def journal_error(path: Path, exc: sqlite3.Error | str) -> JournalError:
    """The error to show for ``exc`` met while using the journal at ``path``."""
    text = str(exc)
    at_risk = AT_RISK.format(instances=path.parent / "instances")
    if "locked" in text or "busy" in text:
        return JournalError(
            f"The resource journal {path} is locked by another process ({text}).",
            f"Another bake may be holding it: wait for it to finish, or find it with "
            f"`fuser -v {path}`.",
            damaged=False,
        )
    if "readonly" in text or "unable to open" in text or "permission" in text.lower():
        return JournalError(
            f"The resource journal {path} cannot be written ({text}).",
            f"Make {path} and its directory writable by this user, or point BAKE_STATE_DIR "
            f"at the state directory you meant. {at_risk}",
            damaged=False,
        )
    return JournalError(
        f"The resource journal {path} is damaged or not a bake journal ({text}).",
        f"{at_risk} `bake cleanup --reset-journal` keeps the damaged file aside (renamed "
        f"{path.name}.damaged-<time>) and starts an empty journal; then look for those "
        "resources yourself: `bake cleanup --tags` finds cloud resources by their "
        "bake:expires-at tag; `ps -ef | grep -e systemd-nspawn -e ansible-playbook`, "
        f"`grep bake /proc/mounts`, `ip netns list`, `ip -br link`, `nft list tables` and "
        f"`ls {path.parent / 'instances'}` show local ones.",
        damaged=True,
    )


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

    def __init__(self, path: Path | None = None, *, timeout: float = 30.0) -> None:
        """Open (or create) the journal; raise JournalError if it is damaged, of another
        schema, locked for longer than ``timeout`` seconds, or not writable."""
        self.path = path or self.default_path()
        self.timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._connect() as db:
            # One transaction: two bakes creating the journal at once never see it half made.
            db.execute("BEGIN IMMEDIATE")
            try:
                self._check_schema(db)
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            db.execute("PRAGMA journal_mode=WAL")

    @staticmethod
    def default_path() -> Path:
        return state_dir() / "journal.sqlite"

    def _check_schema(self, db: sqlite3.Connection) -> None:
        tables = {
            name: tuple(col[1] for col in db.execute(f"PRAGMA table_info({name})"))
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_")
        }
        if not tables:
            return  # a new journal
        for name, columns in COLUMNS.items():
            if tables.get(name) != columns:
                found = ", ".join(f"{t}({', '.join(c)})" for t, c in sorted(tables.items()))
                raise journal_error(self.path, f"unexpected tables: {found}")
        # Reads every page of the (small) journal: a truncated or garbled file fails here,
        # before any command relies on it, rather than halfway through a cleanup.
        (verdict,) = db.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise journal_error(self.path, f"integrity check: {verdict}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise journal_error(self.path, exc) from exc
        try:
            db.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        except sqlite3.Error as exc:
            raise journal_error(self.path, exc) from exc
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
