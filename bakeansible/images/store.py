"""The image registry's queries: one copy of the SQL, run on SQLite or PostgreSQL.

Standard SQL with ``?`` placeholders only (the state layer adapts them to the driver):
``ON CONFLICT … DO UPDATE`` for upserts and ``||`` for concatenation, which both backends
understand the same way. The tables are in ``bakeansible.images.schema``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from bakeansible.errors import BakeError
from bakeansible.images.records import TEST_FAILED, ChannelRecord, ImageRecord
from bakeansible.state import Database

COLUMNS = (
    "id", "image_name", "build_name", "builder_type", "artifact", "checksum", "size",
    "fingerprint", "inputs", "source", "parent_id", "git_commit", "created_at", "test_result",
    "revoked_at", "revoke_reason", "deleted_at", "location",
)  # fmt: skip
SELECT = f"SELECT {', '.join(COLUMNS)} FROM images"


class ImageNotFound(BakeError):
    """No image, or no unique image, matches an id."""


def _row(row: Sequence[Any]) -> ImageRecord:
    data = dict(zip(COLUMNS, row, strict=True))
    data["inputs"] = json.loads(data["inputs"] or "{}")
    data["location"] = json.loads(data["location"] or "{}")
    data["size"] = None if data["size"] is None else int(data["size"])
    for key in ("created_at", "revoked_at", "deleted_at"):
        if data[key] is not None:
            data[key] = float(data[key])
    return ImageRecord(**data)


def _values(rec: ImageRecord) -> list[Any]:
    values = []
    for col in COLUMNS:
        value = getattr(rec, col)
        values.append(json.dumps(value, sort_keys=True) if col in ("inputs", "location")
                      else value)  # fmt: skip
    return values


class ImageStore:
    """Images and channels in the shared database (SQLite by default, or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- images ---------------------------------------------------------------------------
    def add(self, rec: ImageRecord) -> ImageRecord:
        """Record an image. Older images at the same artifact (a local file that ``-force``
        overwrote) are marked deleted: that file is this image now."""
        placeholders = ", ".join("?" for _ in COLUMNS)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE images SET deleted_at = ? WHERE artifact = ? AND deleted_at IS NULL",
                [rec.created_at, rec.artifact],
            )
            conn.execute(
                f"INSERT INTO images ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                _values(rec),
            )
        return rec

    def images(self, build_name: str | None = None, *, deleted: bool = False) -> list[ImageRecord]:
        """Images, newest first; of one build when ``build_name`` is given; deleted ones
        (pruned) only with ``deleted``."""
        where, params = [], []
        if build_name is not None:
            where.append("build_name = ?")
            params.append(build_name)
        if not deleted:
            where.append("deleted_at IS NULL")
        sql = SELECT + (" WHERE " + " AND ".join(where) if where else "")
        return [_row(r) for r in self.db.execute(sql + " ORDER BY created_at DESC, id", params)]

    def get(self, ident: str) -> ImageRecord:
        """The image whose id is ``ident`` or starts with it; ImageNotFound otherwise."""
        rows = self.db.execute(SELECT + " WHERE id = ?", [ident])
        if not rows and ident:
            rows = self.db.execute(SELECT + " WHERE id LIKE ? ORDER BY id", [_prefix(ident)])
        if not rows:
            raise ImageNotFound(
                f"No image {ident!r} in the registry.", hint="`bake images` lists them."
            )
        if len(rows) > 1:
            ids = ", ".join(str(r[0]) for r in rows[:5])
            raise ImageNotFound(
                f"Image id {ident!r} is ambiguous ({ids}).", hint="Give more of the id."
            )
        return _row(rows[0])

    def children(self, image_id: str) -> list[ImageRecord]:
        rows = self.db.execute(SELECT + " WHERE parent_id = ? ORDER BY created_at, id", [image_id])
        return [_row(r) for r in rows]

    def descendants(self, image_id: str) -> list[ImageRecord]:
        """Children, their children and so on, breadth first."""
        found: list[ImageRecord] = []
        seen = {image_id}
        queue = [image_id]
        while queue:
            for child in self.children(queue.pop(0)):
                if child.id not in seen:
                    seen.add(child.id)
                    found.append(child)
                    queue.append(child.id)
        return found

    def find_hit(self, build_name: str, fingerprint: str) -> ImageRecord | None:
        """The newest image of ``build_name`` baked from these inputs that may be reused: not
        revoked, not deleted, tests not failed. The caller checks that it still exists."""
        rows = self.db.execute(
            SELECT + " WHERE build_name = ? AND fingerprint = ? AND revoked_at IS NULL"
            " AND deleted_at IS NULL AND (test_result IS NULL OR test_result <> ?)"
            " ORDER BY created_at DESC, id LIMIT 1",
            [build_name, fingerprint, TEST_FAILED],
        )
        return _row(rows[0]) if rows else None

    def find_by_checksum(self, checksum: str) -> ImageRecord | None:
        """The newest image with this checksum (a local source tarball's digest)."""
        rows = self.db.execute(
            SELECT + " WHERE checksum = ? ORDER BY created_at DESC, id LIMIT 1", [checksum]
        )
        return _row(rows[0]) if rows else None

    def find_by_cloud_image(self, image_id: str) -> ImageRecord | None:
        """The newest image one of whose ``region:img-…`` pairs is ``image_id``."""
        rows = self.db.execute(
            SELECT + " WHERE (',' || artifact || ',') LIKE ? ORDER BY created_at DESC, id"
            " LIMIT 1",
            [f"%:{_escape_like(image_id)},%"],
        )
        return _row(rows[0]) if rows else None

    def find_by_artifact(self, artifact: str) -> ImageRecord | None:
        rows = self.db.execute(
            SELECT + " WHERE artifact = ? ORDER BY created_at DESC, id LIMIT 1", [artifact]
        )
        return _row(rows[0]) if rows else None

    def revoke(self, ids: Sequence[str], reason: str, at: float | None = None) -> None:
        """Mark these images revoked (those already revoked keep their first reason)."""
        when = time.time() if at is None else at
        with self.db.transaction() as conn:
            for image_id in ids:
                conn.execute(
                    "UPDATE images SET revoked_at = ?, revoke_reason = ?"
                    " WHERE id = ? AND revoked_at IS NULL",
                    [when, reason, image_id],
                )

    def mark_deleted(self, image_id: str, at: float | None = None) -> None:
        """The image's files or cloud images are gone (pruned); its record stays for lineage."""
        self.db.execute(
            "UPDATE images SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
            [time.time() if at is None else at, image_id],
        )

    # -- channels -------------------------------------------------------------------------
    def set_channel(self, channel: str, build_name: str, image_id: str) -> ChannelRecord:
        now = time.time()
        self.db.execute(
            "INSERT INTO channels (channel, build_name, image_id, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (channel, build_name) DO UPDATE"
            " SET image_id = excluded.image_id, updated_at = excluded.updated_at",
            [channel, build_name, image_id, now],
        )
        return ChannelRecord(channel, build_name, image_id, now)

    def channel(self, channel: str, build_name: str) -> ChannelRecord | None:
        rows = self.db.execute(
            "SELECT channel, build_name, image_id, updated_at FROM channels"
            " WHERE channel = ? AND build_name = ?",
            [channel, build_name],
        )
        return _channel(rows[0]) if rows else None

    def channels(self) -> list[ChannelRecord]:
        rows = self.db.execute(
            "SELECT channel, build_name, image_id, updated_at FROM channels"
            " ORDER BY channel, build_name"
        )
        return [_channel(r) for r in rows]

    def channel_targets(self) -> set[str]:
        """Ids of the images some channel points at."""
        return {str(r[0]) for r in self.db.execute("SELECT DISTINCT image_id FROM channels")}


def _channel(row: Sequence[Any]) -> ChannelRecord:
    return ChannelRecord(str(row[0]), str(row[1]), str(row[2]), float(row[3]))


def _escape_like(text: str) -> str:
    # Image ids and bake ids are [0-9a-z-]; refuse LIKE wildcards rather than escape them.
    return text.replace("%", "").replace("_", "")


def _prefix(ident: str) -> str:
    return _escape_like(ident) + "%"
