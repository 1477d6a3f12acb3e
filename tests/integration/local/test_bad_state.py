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


def _site_args(*extra: str) -> list[str]:
    return ["--playbook", "playbooks/site.yml", "-color=false", *extra]


def _damaged_base(cache: Path) -> Path:
    from bakeansible.builders.local.rootfs import base_cache_path

    entry = base_cache_path("bookworm", (), "", root=cache)
    (entry / "usr/sbin").mkdir(parents=True)
    (entry / "sbin").symlink_to("usr/sbin")
    entry.with_name(entry.name + ".complete").write_text("bookworm\n")
    return entry


STATE_CASES = {
    # name: (prepare(project, cache) -> the file the error must name, bake args, expected)
    "cached base without sshd and init": (
        lambda project, cache: _damaged_base(cache), _site_args(),
        "is damaged: /sbin/init, /usr/sbin/sshd missing",
    ),
    "source tarball of random bytes": (
        lambda project, cache: _write(project / "old.tar.zst", os.urandom(4096)),
        _site_args("--source", "old.tar.zst"), "is not a tar archive",
    ),
    "manifest not JSON": (
        lambda project, cache: _write(project / "output/manifest.json", b'{"builds": [\n'),
        _site_args(), "is not valid JSON (line 2, column 1",
    ),
    "manifest unreadable": (
        lambda project, cache: _mkdir(project / "output/manifest.json"), _site_args(),
        "cannot be read (Is a directory)",
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


@pytest.mark.parametrize("case", list(STATE_CASES))
def test_bad_files_bake_reads_back_are_refused_before_anything_is_created(
    project: Path, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    no_leaks: None, case: str,
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("BAKE_CACHE_DIR", str(cache))
    prepare, args, expected = STATE_CASES[case]
    named = prepare(project, cache)
    before = _snapshot(project, cache)
    result = _bake(args, project)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert result.stderr.startswith("Error: ") and str(named) in result.stderr, out
    assert expected in result.stderr and "Hint: " in result.stderr, out
    assert _snapshot(project, cache) == before, "nothing created, nothing changed"
    assert not state_dir.exists(), "refused before the journal"


def test_a_tarball_that_is_no_root_filesystem_is_refused_and_not_cached(
    project: Path, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    no_leaks: None,
) -> None:
    """Found only once extracted: the extraction is removed, nothing is cached or booted."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BAKE_CACHE_DIR", str(cache))
    (tmp_path / "notroot/etc").mkdir(parents=True)
    (tmp_path / "notroot/etc/hostname").write_text("x\n")
    subprocess.run(
        ["tar", "-I", "zstd", "-C", str(tmp_path / "notroot"), "-cf",
         str(project / "x.tar.zst"), "."], check=True,
    )
    result = _bake(_site_args("--source", "x.tar.zst"), project)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert f"Source tarball {project / 'x.tar.zst'} is not a bootable root filesystem" in out
    cached = [p.name for p in (cache / "rootfs").iterdir() if p.suffix != ".lock"]
    assert cached == [], "nothing cached"
    assert not (project / "output").exists()
    assert Journal(state_dir / "journal.sqlite").open_resources() == []
