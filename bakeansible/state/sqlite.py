"""The embedded backend: one SQLite file in WAL mode, shared safely by the bakes of one host."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from bakeansible.state.database import Connection, Database, Lock, Row
from bakeansible.state.dialect import SQLITE
from bakeansible.state.errors import DatabaseError, sqlite_error


class _SqliteConnection:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [tuple(row) for row in self._db.execute(sql, tuple(params)).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._db.execute(sql, tuple(params)).fetchone()
        return tuple(row) if row is not None else None

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        (rid,) = self._db.execute(sql + " RETURNING id", tuple(params)).fetchone()
        return int(rid)


class FileLock(Lock):
    """A ``flock`` on a file beside the database: the kernel drops it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            with suppress(OSError):
                os.close(self._fd)
            self._fd = None


class SqliteDatabase(Database):
    """``path`` in WAL mode; a connection per transaction, so threads never share one."""

    dialect = SQLITE
    shared_locks = False

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = path
        self.where = str(path)
        self.timeout = timeout
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        assert self.path is not None
        try:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from exc
        try:
            db.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            db.execute("PRAGMA synchronous=NORMAL")
            # IMMEDIATE: a transaction that reads then writes never fails to upgrade its lock.
            db.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteConnection(db)
                db.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from exc
        finally:
            db.close()

    def prepare(self, conn: Connection) -> None:
        # Reads every page of the (small) file: a truncated or garbled one fails here, before
        # any command relies on it, rather than halfway through a cleanup.
        row = conn.one("PRAGMA quick_check")
        if row is None or row[0] != "ok":
            raise self.bad_schema(f"integrity check: {row[0] if row else 'no answer'}")

    def after_migrate(self) -> None:
        assert self.path is not None
        try:
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            try:
                db.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
                self._use_wal(db)
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc) from exc

    def _use_wal(self, db: sqlite3.Connection) -> None:
        """Switch the file to WAL, unless another bake already has. Taking the lock for the
        switch can fail at once (SQLite's deadlock avoidance skips the busy timeout) while bakes
        that opened a new journal together still read it: that is retried until ``timeout``."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                (mode,) = db.execute("PRAGMA journal_mode").fetchone()
                if str(mode).lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def tables(self, conn: Connection) -> dict[str, tuple[str, ...]]:
        names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {
            name: tuple(col[1] for col in conn.execute(f"PRAGMA table_info({name})"))
            for (name,) in names
            if not name.startswith("sqlite_")
        }

    def bad_schema(self, detail: str) -> DatabaseError:
        assert self.path is not None
        return sqlite_error(self.path, detail)

    def lock(self, name: str) -> Lock:
        assert self.path is not None
        digest = hashlib.sha256(name.encode()).hexdigest()[:24]
        return FileLock(self.path.parent / "locks" / f"{digest}.lock")

    def held(self, names: Iterable[str]) -> set[str] | None:
        return None
