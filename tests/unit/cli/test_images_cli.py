"""``bake images``, ``bake channel`` and ``bake revoke`` on a real registry file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bakeansible.cli.main import cli
from bakeansible.images.database import open_image_store
from bakeansible.images.records import ImageRecord
from bakeansible.images.store import ImageStore


def bake(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> ImageStore:
    """base <- site <- hardened, and an unrelated api image; local files under tmp_path; in the
    database ``bake`` uses (BAKE_DATABASE_URL): SQLite, then PostgreSQL."""
    store = open_image_store()
    lines = [("a00000000000", "base", None), ("b00000000000", "site", "a00000000000"),
             ("c00000000000", "hardened", "b00000000000"), ("d00000000000", "api", None)]
    for n, (image_id, build, parent) in enumerate(lines):
        path = tmp_path / f"{build}.tar.zst"
        path.write_bytes(b"x" * 1000)
        store.add(ImageRecord(image_id, build, build, "local", str(path), checksum=None,
                              size=1000, parent_id=parent, created_at=1_700_000_000.0 + n))
    return store


def test_list_and_show_with_lineage(store: ImageStore) -> None:
    code, out, _ = bake("images")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "d00000000000", "c00000000000", "b00000000000", "a00000000000"
    ]
    code, out, _ = bake("images", "--json")
    docs = json.loads(out)
    assert [d["id"] for d in docs][-1] == "a00000000000"
    assert docs[1]["parent_id"] == "b00000000000"
    code, out, _ = bake("images", "show", "b000")
    assert code == 0, out
    assert "Image b00000000000" in out
    assert "parent:   a00000000000" in out
    assert "child:    c00000000000" in out
    code, out, _ = bake("images", "show", "c00000000000", "--json")
    doc = json.loads(out)
    assert doc["parent"]["id"] == "b00000000000"
    assert doc["ancestors"] == ["b00000000000", "a00000000000"]
    assert doc["children"] == []
    code, _, err = bake("images", "show", "zzz")
    assert code == 1
    assert "Error: No image 'zzz' in the registry." in err


def test_empty_registry(state_dir: Path) -> None:
    assert bake("images")[:2] == (0, "No images recorded yet.\n")
    assert bake("channel", "list")[1].startswith("No channels yet")


def test_channels_and_revoke_with_cascade(store: ImageStore) -> None:
    code, out, _ = bake("channel", "set", "prod", "site", "b000")
    assert (code, out) == (0, "Channel prod/site -> b00000000000\n")
    code, out, _ = bake("channel", "list")
    assert out.startswith("prod/site  b00000000000")
    code, _, err = bake("channel", "set", "prod", "api", "b000")
    assert code == 1 and "is of build 'site', not 'api'" in err
    code, out, err = bake("revoke", "b000", "--reason", "CVE-2026-7")
    assert code == 0
    assert "Revoked b00000000000" in out
    assert "still usable: c00000000000" in err
    assert "(revoked)" in bake("channel", "list")[1]
    code, out, _ = bake("revoke", "a00000000000", "--cascade")
    assert {line.split()[1] for line in out.splitlines()} == {
        "a00000000000", "b00000000000", "c00000000000"
    }
    assert store.get("c00000000000").revoked
    assert not store.get("d00000000000").revoked
    code, _, err = bake("channel", "set", "canary", "hardened", "c000")
    assert code == 1 and "was revoked" in err


def test_prune_dry_run_then_for_real(store: ImageStore, tmp_path: Path) -> None:
    older = tmp_path / "site-old.tar.zst"
    older.write_bytes(b"old")
    store.add(ImageRecord("e00000000000", "site", "site", "local", str(older),
                          created_at=1_600_000_000.0))
    newest = tmp_path / "site-new.tar.zst"
    newest.write_bytes(b"new")
    store.add(ImageRecord("f00000000000", "site", "site", "local", str(newest),
                          created_at=1_800_000_000.0))
    bake("channel", "set", "prod", "site", "e000")
    code, out, _ = bake("images", "prune", "--keep", "1", "--dry-run")
    assert code == 0
    assert "Would delete b00000000000 (site)" in out
    assert "e00000000000" not in out  # a channel points at it
    assert (tmp_path / "site.tar.zst").exists()
    code, out, _ = bake("images", "prune", "--keep", "1")
    assert code == 0, out
    assert "Deleted b00000000000 (site)" in out
    assert not (tmp_path / "site.tar.zst").exists()
    assert older.exists() and newest.exists()
    assert store.get("b00000000000").deleted
    assert "b00000000000" not in bake("images")[1]
    assert "b00000000000" in bake("images", "--all")[1]
    assert bake("images", "prune", "--keep", "1")[1].startswith("Nothing to prune")


def test_validate_resolves_channel_sources(store: ImageStore, tmp_path: Path) -> None:
    template = tmp_path / "bake.yml"
    template.write_text(
        "builds:\n  - name: web\n    type: local\n    source: channel:prod/site\n"
        "provisioners:\n  - type: shell\n    inline: ['true']\n"
    )
    code, _, err = bake("validate", str(template))
    assert code == 1
    assert "Channel prod/site does not exist" in err
    bake("channel", "set", "prod", "site", "b000")
    code, out, err = bake("validate", str(template))
    assert (code, out) == (0, "The configuration is valid.\n"), err
    bake("revoke", "b000")
    code, _, err = bake("validate", str(template))
    assert code == 1 and "was revoked" in err
