"""The connection wrapper both backends share: one copy of the SQL, transactions, locks.

Queries use ``?`` placeholders; ``insert`` appends ``RETURNING id``. A ``Database`` may be shared
by the threads of one bake (each gets its own connection); a ``Lock`` belongs to one build.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from bakeansible.state.dialect import Dialect
from bakeansible.state.errors import DatabaseError, schema_error

Row = tuple[Any, ...]


class Connection(Protocol):
    """One connection inside a transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; return its rows (none for a statement without a result)."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT into a table with an ``{id}`` column; return the new row's id."""


class Lock(ABC):
    """A named lock held by this process (a session on the server, or a ``flock``), released
    by ``release`` or when the process dies, whatever kills it."""

    @abstractmethod
    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock up (idempotent, never raises)."""


class Database(ABC):
    """A state database: SQLite (embedded) or PostgreSQL (shared by a team)."""

    dialect: Dialect
    #: The URL it was opened with (password included: never show it, show ``where``).
    url: str = ""
    #: What messages name: the file, or the URL without its password.
    where: str
    #: The SQLite file, or None on a server.
    path: Path | None = None
    #: Whether ``held`` can tell the locks of other hosts' processes.
    shared_locks: bool = False

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Connection]:
        """A connection in one transaction: committed at the end, rolled back on an error."""

    @abstractmethod
    def lock(self, name: str) -> Lock:
        """A lock of that name, not yet taken (``try_acquire`` it)."""

    @abstractmethod
    def held(self, names: Iterable[str]) -> set[str] | None:
        """Which of these locks some process holds now; None when this backend cannot tell
        (SQLite: a ``flock`` of another host is not visible)."""

    @abstractmethod
    def tables(self, conn: Connection) -> dict[str, tuple[str, ...]]:
        """Every table of this database with its columns, in order."""

    @abstractmethod
    def prepare(self, conn: Connection) -> None:
        """Backend checks and serialization before migrations run (inside their transaction)."""

    def after_migrate(self) -> None:
        """Backend settings that must not run inside a transaction (SQLite's WAL mode)."""
        return

    def bad_schema(self, detail: str) -> DatabaseError:
        """The error for tables that are not this bake's."""
        return schema_error(self.where, detail)

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        return

    # One statement in its own transaction ----------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.transaction() as conn:
            return conn.execute(sql, params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self.transaction() as conn:
            return conn.one(sql, params)

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.transaction() as conn:
            return conn.insert(sql, params)


def open_database(url: str | None = None, *, timeout: float = 30.0) -> Database:
    """Open (creating and migrating it if needed) the state database.

    ``url``, else ``$BAKE_DATABASE_URL``, else ``<state dir>/journal.sqlite``. Raises
    DatabaseError naming the file or server (never its password) and what to do.
    """
    from bakeansible.secrets import process_masker
    from bakeansible.state.migrations import migrate
    from bakeansible.state.url import password_of, resolve_url, scheme_of, sqlite_path

    resolved = resolve_url(url)
    process_masker().add(password_of(resolved))
    db: Database
    if scheme_of(resolved) == "sqlite":
        from bakeansible.state.sqlite import SqliteDatabase

        db = SqliteDatabase(sqlite_path(resolved), timeout=timeout)
    else:
        from bakeansible.state.postgres import PostgresDatabase

        db = PostgresDatabase(resolved, timeout=timeout)
    db.url = resolved
    migrate(db)
    return db


def translate_placeholders(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")
