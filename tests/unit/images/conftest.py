"""A real registry database per test (each test runs on SQLite and on PostgreSQL), and a
helper to add image records."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bakeansible.images.records import ImageRecord
from bakeansible.images.store import ImageStore
from bakeansible.state import Database

AddImage = Callable[..., ImageRecord]


@pytest.fixture
def store(database: Database) -> ImageStore:
    """The registry in a fresh state database: SQLite, then a real PostgreSQL server."""
    return ImageStore(database)


@pytest.fixture
def add_image(store: ImageStore, tmp_path: Path) -> AddImage:
    """Record an image; local ones get a real file (and .sha256) under tmp_path/output."""
    clock = iter(range(1, 10_000))

    def add(image_id: str, build: str = "site", **kw: Any) -> ImageRecord:
        builder = kw.pop("builder_type", "local")
        if "artifact" not in kw:
            path = tmp_path / "output" / f"{build}-{image_id}.tar.zst"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(image_id.encode())
            path.with_name(path.name + ".sha256").write_text(image_id)
            kw["artifact"] = str(path)
            kw.setdefault("checksum", hashlib.sha256(image_id.encode()).hexdigest())
        kw.setdefault("created_at", 1_700_000_000.0 + next(clock))
        kw.setdefault("checksum", f"sum-{image_id}")
        rec = ImageRecord(
            id=image_id, image_name=build, build_name=build, builder_type=builder, **kw
        )
        return store.add(rec)

    return add
