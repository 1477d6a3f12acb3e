"""Versioned schema migrations, one list for both backends.

The database records the versions it has in ``schema_migrations``; ``migrate`` applies the
missing ones in order, all in one transaction (two bakes opening a new database at once never see
it half made). A journal made before migrations existed (only ``builds`` and ``resources``) is
adopted in place as version 1.

To add a table, append a ``Migration`` with the next version; never edit one that has shipped
(a database that already has it would never see the change). Column types that differ between
SQLite and PostgreSQL are written ``{id}``, ``{float}``, ``{bigint}``, ``{json}`` (see
``dialect.py``); statements are separated by ``;`` (so none may contain one)::

    Migration(3, "image registry", '''
        CREATE TABLE images (
            id {id},
            name TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            size {bigint},
            created_at {float} NOT NULL
        );
        CREATE INDEX images_fingerprint ON images(fingerprint)
    '''),

and use it through ``open_database()``::

    db = open_database()
    image_id = db.insert("INSERT INTO images (name, fingerprint, created_at) VALUES (?, ?, ?)",
                         ("site", "sha256:…", time.time()))
    with db.transaction() as conn:       # several statements, one transaction
        row = conn.one("SELECT name FROM images WHERE id = ?", (image_id,))
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bakeansible.images.schema import REGISTRY_SQL
from bakeansible.state.database import Connection, Database
from bakeansible.state.errors import newer_schema_error


@dataclass(frozen=True)
class Migration:
    """One step of the schema: ``sql`` is ``;``-separated DDL with the dialect's words."""

    version: int
    name: str
    sql: str

    def statements(self, db: Database) -> list[str]:
        return [s.strip() for s in db.dialect.ddl(self.sql).split(";") if s.strip()]


MIGRATIONS: list[Migration] = [
    Migration(1, "resource journal", """
        CREATE TABLE IF NOT EXISTS builds (
            build_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            builder_type TEXT NOT NULL,
            pid INTEGER NOT NULL,
            pid_start TEXT NOT NULL,
            host TEXT NOT NULL,
            started_at {float} NOT NULL,
            finished_at {float},
            state TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS resources (
            id {id},
            build_id TEXT NOT NULL REFERENCES builds(build_id),
            kind TEXT NOT NULL,
            ident TEXT,
            data {json} NOT NULL,
            state TEXT NOT NULL,
            created_at {float} NOT NULL,
            updated_at {float} NOT NULL
        );
        CREATE INDEX IF NOT EXISTS resources_build ON resources(build_id, state)
    """),
    Migration(2, "lock holders", """
        CREATE TABLE lock_holders (
            name TEXT PRIMARY KEY,
            build_id TEXT NOT NULL,
            build_name TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            taken_at {float} NOT NULL
        )
    """),
    Migration(3, "image registry", REGISTRY_SQL),
    Migration(4, "lock waiters", """
        CREATE TABLE lock_waiters (
            build_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            build_name TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            since {float} NOT NULL,
            seen_at {float} NOT NULL
        )
    """),
]

VERSIONS_TABLE = """
CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at {float} NOT NULL
)
"""

# A journal from before migrations: exactly these tables, adopted as version 1.
LEGACY = {
    "builds": ("build_id", "name", "builder_type", "pid", "pid_start", "host", "started_at",
               "finished_at", "state"),
    "resources": ("id", "build_id", "kind", "ident", "data", "state", "created_at",
                  "updated_at"),
}


def migrate(db: Database) -> int:
    """Bring ``db`` to the latest version; return it. Raises DatabaseError for tables that are
    not bake's, or a version newer than this bake knows."""
    latest = MIGRATIONS[-1].version
    with db.transaction() as conn:
        db.prepare(conn)
        version = _current_version(db, conn)
        if version > latest:
            raise newer_schema_error(db.where, version, latest)
        for migration in MIGRATIONS[version:]:
            for statement in migration.statements(db):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
    db.after_migrate()
    return latest


def _current_version(db: Database, conn: Connection) -> int:
    tables = db.tables(conn)
    if "schema_migrations" in tables:
        row = conn.one("SELECT MAX(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0
    known = {name: cols for name, cols in tables.items() if LEGACY.get(name) == cols}
    if tables and (known != tables or len(known) != len(LEGACY)):
        found = ", ".join(f"{t}({', '.join(c)})" for t, c in sorted(tables.items()))
        raise db.bad_schema(f"unexpected tables: {found}")
    conn.execute(db.dialect.ddl(VERSIONS_TABLE))
    return 0
