"""bake's state database: the resource journal and the image registry, in one place.

Embedded SQLite by default (``<state dir>/journal.sqlite``); PostgreSQL when
``BAKE_DATABASE_URL`` (or ``--database-url``) is ``postgresql://…``, so a team's bakes on many
hosts share one journal, one registry and one set of locks.

    from bakeansible.state import open_database
    db = open_database()                        # migrated to the latest schema
    rows = db.execute("SELECT build_id, name FROM builds WHERE state = ?", ("running",))
    with db.transaction() as conn:              # one transaction, ``?`` placeholders
        new_id = conn.insert("INSERT INTO resources (...) VALUES (?, ...)", (...))

Tables are added by appending to ``MIGRATIONS`` (see ``bakeansible.state.migrations``).
"""

from bakeansible.state.database import Connection, Database, Lock, open_database
from bakeansible.state.errors import DatabaseError
from bakeansible.state.locks import Holder, Waiter, acquire, waiters
from bakeansible.state.migrations import MIGRATIONS, Migration
from bakeansible.state.url import ENV, resolve_url, safe_url

__all__ = [
    "ENV",
    "MIGRATIONS",
    "Connection",
    "Database",
    "DatabaseError",
    "Holder",
    "Lock",
    "Migration",
    "Waiter",
    "acquire",
    "open_database",
    "resolve_url",
    "safe_url",
    "waiters",
]
