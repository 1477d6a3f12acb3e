"""The state layer on both backends: one copy of the SQL, transactions, migrations (old
journals adopted in place, foreign and newer schemas refused), and the CLI's errors for a
database URL it cannot use."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from bakeansible.state import MIGRATIONS, Database, DatabaseError, open_database
from tests.conftest import bake_env

# The journal's schema before migrations existed (bake 0.1 up to this layer).
OLD_JOURNAL = """
CREATE TABLE builds (build_id TEXT PRIMARY KEY, name TEXT NOT NULL, builder_type TEXT NOT NULL,
    pid INTEGER NOT NULL, pid_start TEXT NOT NULL, host TEXT NOT NULL, started_at REAL NOT NULL,
    finished_at REAL, state TEXT NOT NULL);
CREATE TABLE resources (id INTEGER PRIMARY KEY AUTOINCREMENT,
    build_id TEXT NOT NULL REFERENCES builds(build_id), kind TEXT NOT NULL, ident TEXT,
    data TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX resources_build ON resources(build_id, state);
INSERT INTO builds VALUES ('old', 'web', 'local', 1, '1', 'h', 1.5, NULL, 'running');
INSERT INTO resources VALUES (7, 'old', 'local.file', NULL, '{"path": "/x"}', 'intent', 1, 1);
"""


def _versions(db: Database) -> list[int]:
    return [v for (v,) in db.execute("SELECT version FROM schema_migrations ORDER BY version")]


def test_one_copy_of_the_sql_runs_on_both(database: Database) -> None:
    assert _versions(database) == [m.version for m in MIGRATIONS]
    database.execute("INSERT INTO builds VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                     ("b", "web", "local", 1, "1", "h", 1.0, "running"))
    first = database.insert(
        "INSERT INTO resources (build_id, kind, ident, data, state, created_at, updated_at)"
        " VALUES (?, ?, NULL, ?, 'intent', ?, ?)",
        ("b", "local.file", "{}", 1796024433.25, 1.25),
    )
    second = database.insert(
        "INSERT INTO resources (build_id, kind, ident, data, state, created_at, updated_at)"
        " VALUES (?, ?, NULL, ?, 'intent', ?, ?)", ("b", "local.mount", "{}", 2.0, 2.0),
    )
    assert second > first > 0, "RETURNING id gives each row its id"
    # A literal % is not a placeholder on psycopg; a float keeps its fraction (not float4).
    rows = database.execute(
        "SELECT kind, created_at FROM resources WHERE kind LIKE 'local.m%' AND build_id = ?",
        ("b",),
    )
    assert rows == [("local.mount", 2.0)]
    assert database.one("SELECT created_at FROM resources WHERE id = ?", (first,)) == (
        1796024433.25,
    )
    assert database.one("SELECT id FROM resources WHERE id = ?", (-1,)) is None


def test_a_failed_transaction_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as conn:
        conn.execute("INSERT INTO builds VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                     ("t1", "web", "local", 1, "1", "h", 1.0, "running"))
        assert conn.one("SELECT name FROM builds WHERE build_id = ?", ("t1",)) == ("web",)
        raise RuntimeError("halfway")
    assert database.execute("SELECT build_id FROM builds") == []


def test_an_old_journal_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    raw = sqlite3.connect(path)
    raw.executescript(OLD_JOURNAL)
    raw.close()
    db = open_database(f"sqlite://{path}")
    assert _versions(db) == [m.version for m in MIGRATIONS]
    assert db.execute("SELECT build_id, state FROM builds") == [("old", "running")]
    assert db.one("SELECT id, data FROM resources") == (7, '{"path": "/x"}')
    new = db.insert(
        "INSERT INTO resources (build_id, kind, ident, data, state, created_at, updated_at)"
        " VALUES ('old', 'local.file', NULL, '{}', 'intent', 2, 2)"
    )
    assert new == 8, "ids go on from the old journal's"
    assert _versions(open_database(f"sqlite://{path}")) == [m.version for m in MIGRATIONS]


def test_tables_that_are_not_bakes_are_refused(database_url: str, database: Database) -> None:
    database.execute("DROP TABLE schema_migrations")
    database.execute("DROP TABLE lock_holders")
    database.execute("DROP TABLE resources")
    database.execute("DROP TABLE builds")
    database.execute("CREATE TABLE builds (id TEXT PRIMARY KEY, status TEXT)")
    database.close()
    with pytest.raises(DatabaseError) as err:
        open_database(database_url)
    assert "unexpected tables: builds(id, status)" in err.value.message
    assert database.where in err.value.message
    assert err.value.damaged == database_url.startswith("sqlite"), (
        "only a file may be set aside by --reset-journal"
    )


def test_a_newer_schema_is_refused_not_touched(database_url: str, database: Database) -> None:
    database.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)"
    )
    database.close()
    with pytest.raises(DatabaseError) as err:
        open_database(database_url)
    assert "schema version 99" in err.value.message and not err.value.damaged
    assert "upgrade bake" in (err.value.hint or "")


def _bake(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bake", *args], env=bake_env(**env), capture_output=True, text=True,
                          timeout=60)


def test_a_database_bake_cannot_use_is_named_without_its_password(
    state_dir: Path, tmp_path: Path
) -> None:
    url = f"postgresql://bob:s3cret-pw@/bake?host={tmp_path}/no-server"
    for result in (_bake("builds", "--database-url", url),
                   _bake("cleanup", BAKE_DATABASE_URL=url),
                   _bake("cleanup", "--reset-journal", BAKE_DATABASE_URL=url)):
        out = result.stdout + result.stderr
        assert result.returncode == 1 and "Traceback" not in out, out
        assert "postgresql://bob:***@/bake" in result.stderr and "s3cret" not in out, out
        assert "Hint: " in result.stderr, out
    assert not state_dir.exists(), "no SQLite journal made instead"

    bad = _bake("builds", "--database-url", "mysql://bob:s3cret-pw@db/bake")
    assert bad.returncode == 1 and "neither postgresql:// nor sqlite:///" in bad.stderr
    assert "s3cret" not in bad.stderr + bad.stdout


def test_a_url_is_shown_without_its_password() -> None:
    from bakeansible.state import safe_url

    assert safe_url("postgresql://bob:s3cret@db:5432/bake?sslmode=require") == (
        "postgresql://bob:***@db:5432/bake?sslmode=require"
    )
    assert safe_url("postgresql://bob@db/bake?password=s3cret&host=/run/pg") == (
        "postgresql://bob@db/bake?password=***&host=/run/pg"
    )
    plain = "postgresql://bob@/bake?host=/run/pg&options=-csearch_path%3Dbake"
    assert safe_url(plain) == plain and safe_url("sqlite:///a/b.sqlite") == "sqlite:///a/b.sqlite"


def test_the_password_of_a_url_urlsplit_cannot_read_is_none() -> None:
    """A malformed URL reaches the database's own error, not a ValueError from the masker."""
    from bakeansible.state.url import password_of

    assert password_of("postgresql://u:p@[::1/db") is None
    assert password_of("postgresql://u:pw@h/db") == "pw"
    assert password_of("postgresql://h/db?password=x") == "x"
