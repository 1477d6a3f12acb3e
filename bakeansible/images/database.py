"""Where the registry lives: the shared state database (SQLite by default).

Until the state layer's ``open_database`` carries the registry's migration, a small SQLite
handle of the same shape (``query``/``execute``/``transaction``) keeps it in
``<state dir>/images.sqlite``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bakeansible.errors import BakeError
from bakeansible.images.store import MIGRATION, ImageStore
from bakeansible.paths import state_dir

SCHEMA_VERSION = 1


class SqliteDatabase:
    """A thread-safe SQLite connection in WAL mode, autocommit outside ``transaction()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise registry_error(path, exc) from None

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version != 0:
            raise sqlite3.DatabaseError(f"unknown schema version {version}")
        with self.transaction():
            for statement in MIGRATION.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self.conn.execute(sql, tuple(params)).fetchall())
            except sqlite3.Error as exc:
                raise registry_error(self.path, exc) from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            try:
                return self.conn.execute(sql, tuple(params)).rowcount
            except sqlite3.Error as exc:
                raise registry_error(self.path, exc) from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self.conn.in_transaction:  # nested: the outer one commits
                yield
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def registry_error(path: Path, exc: BaseException) -> BakeError:
    return BakeError(
        f"The image registry {path} cannot be used ({exc}).",
        hint="Check that the file is a bake registry and writable; move it aside to start an "
        "empty registry (the images themselves are not touched).",
    )


def default_registry_path() -> Path:
    return state_dir() / "images.sqlite"


def open_image_store(path: Path | None = None) -> ImageStore:
    """The registry of this machine (or of the team's database), created on first use."""
    return ImageStore(SqliteDatabase(path or default_registry_path()))


def existing_image_store(path: Path | None = None) -> ImageStore | None:
    """The registry if there is one yet, without creating anything (for planning)."""
    path = path or default_registry_path()
    return open_image_store(path) if path.exists() else None
