"""Bad state on disk (a damaged journal, cache entry or manifest): the real ``bake`` command
stops with a clear error naming the file and what to do, exit 1, no traceback, nothing created."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env

COMMANDS = {
    "builds": ["builds"],
    "cleanup": ["cleanup"],
    "cleanup --dry-run": ["cleanup", "--dry-run"],
    "--playbook": ["--playbook", "playbooks/site.yml"],
}


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _truncated(path: Path) -> None:
    journal = Journal(path)
    for i in range(200):
        journal.start_build(f"b{i}", "web" * 50, "local")
        journal.intend(f"b{i}", "local.directory", path="/x" * 100)
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)


def _other_schema(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE builds (id TEXT PRIMARY KEY, status TEXT)")
    db.execute("INSERT INTO builds VALUES ('old', 'running')")
    db.commit()
    db.close()


def _a_directory(path: Path) -> None:
    path.mkdir()


JOURNALS = {
    "random bytes": (_random_bytes, "is damaged or not a bake journal"),
    "truncated": (_truncated, "is damaged or not a bake journal"),
    "old schema": (_other_schema, "unexpected tables: builds(id, status)"),
    "not a file": (_a_directory, "cannot be written"),
}


def _snapshot(*roots: Path) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            found[str(p)] = p.read_bytes() if p.is_file() else None
    return found


def _bake(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bake", *args], cwd=cwd, env=bake_env(), capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("damage", list(JOURNALS))
def test_a_bad_journal_is_refused_with_the_way_out(
    project: Path, state_dir: Path, no_leaks: None, damage: str, command: str
) -> None:
    state_dir.mkdir()
    path = state_dir / "journal.sqlite"
    make, expected = JOURNALS[damage]
    make(path)
    before = _snapshot(state_dir, project)
    result = _bake(COMMANDS[command], project)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert result.stderr.startswith(f"Error: The resource journal {path} "), out
    assert expected in result.stderr, out
    if damage != "not a file":
        assert "may still exist" in result.stderr and "--reset-journal" in result.stderr, out
    assert _snapshot(state_dir, project) == before, "nothing created, nothing changed"


def test_reset_journal_keeps_the_damaged_file_aside(project: Path, state_dir: Path) -> None:
    state_dir.mkdir()
    path = state_dir / "journal.sqlite"
    _random_bytes(path)
    damaged = path.read_bytes()

    reset = _bake(["cleanup", "--reset-journal"], project)
    assert reset.returncode == 0, reset.stdout + reset.stderr
    (aside,) = state_dir.glob("journal.sqlite.damaged-*")
    assert aside.read_bytes() == damaged, "the damaged journal is kept as it was"
    assert str(aside) in reset.stdout and "may still exist" in reset.stdout
    assert "bake cleanup --tags" in reset.stdout

    listed = _bake(["builds"], project)
    assert listed.returncode == 0 and "No builds recorded yet." in listed.stdout, listed.stderr
    # A healthy journal still knows what to clean up: it is never reset.
    again = _bake(["cleanup", "--reset-journal"], project)
    assert again.returncode == 1 and "nothing to reset" in again.stderr, again.stderr
    assert len(list(state_dir.glob("journal.sqlite.damaged-*"))) == 1
