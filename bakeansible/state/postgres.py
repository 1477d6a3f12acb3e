"""The shared backend: a PostgreSQL server, through psycopg 3.

Each thread has its own connection (autocommit, explicit transactions). Locks are session
advisory locks, each on a connection of its own, so the server releases them the moment the
holder's process dies (its socket closes) or, for a host that vanished, once TCP keepalives
give up on it (about a minute, set per session below).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from bakeansible.state.database import Connection, Database, Lock, Row, translate_placeholders
from bakeansible.state.dialect import POSTGRESQL
from bakeansible.state.errors import server_error
from bakeansible.state.url import safe_url

if TYPE_CHECKING:
    import psycopg

# pg_locks shows a two-key advisory lock as (classid, objid, objsubid=2): bake's locks are
# (NAMESPACE, crc of the name), apart from any other application's on the same server.
NAMESPACE = 0x62616B65  # "bake"
KEEPALIVES = (
    "SET tcp_keepalives_idle = 30",
    "SET tcp_keepalives_interval = 10",
    "SET tcp_keepalives_count = 3",
)


def lock_key(name: str) -> int:
    """The second key of the advisory lock called ``name`` (non-negative, so pg_locks' oid
    column shows the same number)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class _PgConnection:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self._conn.execute(translate_placeholders(sql), tuple(params))
        return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cur = self._conn.execute(translate_placeholders(sql), tuple(params))
        row = cur.fetchone() if cur.description else None
        return tuple(row) if row is not None else None

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        row = self.one(sql + " RETURNING id", params)
        assert row is not None
        return int(row[0])


def _connect(url: str, timeout: float) -> psycopg.Connection[Any]:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout)))


class AdvisoryLock(Lock):
    """A session advisory lock on a connection of its own."""

    def __init__(self, url: str, where: str, name: str, timeout: float) -> None:
        self.url, self.where, self.name, self.timeout = url, where, name, timeout
        self._conn: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        import psycopg

        try:
            if self._conn is None:
                self._conn = _connect(self.url, self.timeout)
                for setting in KEEPALIVES:
                    self._conn.execute(setting)
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, lock_key(self.name))
            ).fetchone()
        except psycopg.Error as exc:
            self.release()
            raise server_error(self.where, exc) from exc
        return bool(row and row[0])

    def release(self) -> None:
        if self._conn is not None:
            with suppress(Exception):
                self._conn.close()  # ends the session: the server drops its locks
            self._conn = None


class PostgresDatabase(Database):
    """A PostgreSQL database at ``url``; errors name it without its password."""

    dialect = POSTGRESQL
    shared_locks = True

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:  # a broken install: psycopg is a dependency of bake
            raise server_error(safe_url(url), f"psycopg is not importable: {exc}") from exc
        self.url = url
        self.where = safe_url(url)
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = _connect(self.url, self.timeout)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        import psycopg

        try:
            conn = self._conn()
            with conn.transaction():
                yield _PgConnection(conn)
        except psycopg.Error as exc:
            reaching = isinstance(exc, psycopg.OperationalError)
            if reaching:
                self.close()  # reconnect next time
            raise server_error(self.where, exc, reaching=reaching) from exc

    def prepare(self, conn: Connection) -> None:
        # Two bakes migrating a new database at once: the second waits for the first.
        conn.execute("SELECT pg_advisory_xact_lock(?, ?)", (NAMESPACE, lock_key("migrate")))

    def tables(self, conn: Connection) -> dict[str, tuple[str, ...]]:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        found: dict[str, list[str]] = {}
        for table, column in rows:
            found.setdefault(table, []).append(column)
        return {table: tuple(columns) for table, columns in found.items()}

    def lock(self, name: str) -> Lock:
        return AdvisoryLock(self.url, self.where, name, self.timeout)

    def held(self, names: Iterable[str]) -> set[str] | None:
        rows = self.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = ?"
            " AND objsubid = 2 AND granted AND database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())",
            (NAMESPACE,),
        )
        keys = {int(objid) for (objid,) in rows}
        return {name for name in names if lock_key(name) in keys}

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with suppress(Exception):
                conn.close()
            self._local.conn = None
