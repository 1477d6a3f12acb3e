"""Where the registry lives: the state database, with the journal (SQLite by default, or the
team's PostgreSQL server through ``BAKE_DATABASE_URL``)."""

from __future__ import annotations

from bakeansible.images.store import ImageStore
from bakeansible.state import open_database
from bakeansible.state.url import database_exists


def open_image_store(url: str | None = None) -> ImageStore:
    """The registry (the database is created and migrated on first use)."""
    return ImageStore(open_database(url))


def existing_image_store() -> ImageStore | None:
    """The registry if there can be one yet, without creating a file (for planning)."""
    if database_exists():
        return open_image_store()
    return None
