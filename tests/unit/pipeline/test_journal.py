"""The resource journal on both backends (SQLite and a real PostgreSQL server): lifecycle,
ordering, concurrency, liveness of builds; WAL and locking of the SQLite file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.journal import BuildRecord, Journal
from bakeansible.procinfo import (
    process_alive,
    process_running,
    process_start_time,
    process_state,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def journal(database_url: str) -> Journal:
    return Journal(url=database_url)


@pytest.fixture
def sqlite_journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "state" / "journal.sqlite")


def test_state_dir_is_created_private(tmp_path: Path) -> None:
    Journal(tmp_path / "new" / "journal.sqlite")
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700


def test_default_path_follows_bake_state_dir(state_dir: Path) -> None:
    journal = Journal()
    assert journal.path == state_dir / "journal.sqlite"
    assert journal.path.is_file()


def test_wal_mode_is_on(sqlite_journal: Journal) -> None:
    assert sqlite_journal.path is not None
    db = sqlite3.connect(sqlite_journal.path)
    try:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    finally:
        db.close()
    assert mode == "wal"


def test_intent_created_gone_lifecycle(journal: Journal) -> None:
    journal.start_build("b1", "web", "local")
    rid = journal.intend("b1", "local.directory", path="/tmp/x")
    res = journal.resource(rid)
    assert (res.kind, res.ident, res.state, res.data) == (
        "local.directory", None, "intent", {"path": "/tmp/x"}
    )
    assert res.describe() == "/tmp/x (intent)"

    journal.created(rid, "dir-1", size=3)
    res = journal.resource(rid)
    assert (res.ident, res.state) == ("dir-1", "created")
    assert res.data == {"path": "/tmp/x", "size": 3}, "data learnt on creation is merged"
    assert res.describe() == "dir-1 (created)"

    # A second `created` (the container journals nspawn's pid, then init's) keeps the ident.
    journal.created(rid, None, init_pid=42)
    res = journal.resource(rid)
    assert res.ident == "dir-1" and res.data["init_pid"] == 42 and res.data["size"] == 3

    assert [r.id for r in journal.open_resources("b1")] == [rid]
    journal.gone(rid)
    assert journal.resource(rid).state == "gone"
    assert journal.open_resources("b1") == []
    journal.gone(rid)  # idempotent
    assert journal.resource(rid).state == "gone"


def test_open_resources_newest_first_and_per_build(journal: Journal) -> None:
    journal.start_build("b1", "web", "local")
    journal.start_build("b2", "db", "local")
    a = journal.intend("b1", "local.directory", path="/a")
    b = journal.intend("b2", "local.file", path="/b")
    c = journal.intend("b1", "local.mount", path="/c")
    d = journal.intend("b1", "local.container", machine="m")
    journal.gone(c)
    assert [r.id for r in journal.open_resources()] == [d, b, a]
    assert [r.id for r in journal.open_resources("b1")] == [d, a]
    assert [r.id for r in journal.open_resources("b2")] == [b]
    assert journal.open_resources("nope") == []


def test_context_records_through_the_journal(journal: Journal) -> None:
    ctx = BuildContext(build_id="b9", build_name="web", builder_type="local", journal=journal)
    journal.start_build("b9", "web", "local")
    rid = ctx.record_intent("local.file", path="/tmp/key")
    ctx.record_created(rid, "/tmp/key")
    assert journal.resource(rid).state == "created"  # type: ignore[arg-type]
    ctx.record_gone(rid)
    assert journal.open_resources("b9") == []


def test_context_without_journal_records_nothing() -> None:
    ctx = BuildContext(build_id="b9", build_name="web", builder_type="local")
    rid = ctx.record_intent("local.file", path="/tmp/key")
    assert rid is None
    ctx.record_created(rid, "x")
    ctx.record_gone(rid)


def test_builds_records_pid_start_time_and_state(journal: Journal) -> None:
    journal.start_build("first", "web", "local")
    journal.start_build("second", "db", "tencentcloud-cvm")
    records = journal.builds()
    assert [r.build_id for r in records] == ["second", "first"], "newest first"
    rec = journal.build("first")
    assert rec is not None
    assert rec.pid == os.getpid()
    assert rec.pid_start == process_start_time(os.getpid())
    assert rec.host == os.uname().nodename
    assert (rec.state, rec.finished_at) == ("running", None)
    assert rec.alive

    journal.finish_build("first", "succeeded")
    rec = journal.build("first")
    assert rec is not None and rec.state == "succeeded" and rec.finished_at is not None
    assert journal.build("missing") is None
    assert len(journal.builds(limit=1)) == 1


def test_two_journals_in_two_threads_write_concurrently(journal: Journal) -> None:
    other = Journal(url=journal.url)
    journal.start_build("t1", "web", "local")
    other.start_build("t2", "db", "local")
    ids: dict[str, list[int]] = {"t1": [], "t2": []}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def write(j: Journal, build: str) -> None:
        try:
            barrier.wait(5)
            for i in range(60):
                rid = j.intend(build, "local.file", path=f"/{build}/{i}")
                j.created(rid, f"{build}-{i}")
                if i % 2:
                    j.gone(rid)
                ids[build].append(rid)
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(journal, "t1")),
        threading.Thread(target=write, args=(other, "t2")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(set(ids["t1"]) | set(ids["t2"])) == 120, "every row got its own id"
    assert len(journal.open_resources("t1")) == 30
    assert len(other.open_resources("t2")) == 30
    assert {r.ident for r in journal.open_resources("t1")} == {f"t1-{i}" for i in range(0, 60, 2)}


def test_a_second_process_writes_while_this_one_holds_it(journal: Journal) -> None:
    journal.start_build("p1", "web", "local")
    script = (
        "import sys; from bakeansible.pipeline.journal import Journal\n"
        "j = Journal(url=sys.argv[1]); j.start_build('p2', 'db', 'local')\n"
        "for i in range(50): j.created(j.intend('p2', 'local.file', path=str(i)), str(i))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, journal.url], cwd=REPO)
    for i in range(50):
        journal.intend("p1", "local.file", path=str(i))
    assert child.wait(60) == 0
    assert len(journal.open_resources("p1")) == 50
    assert len(journal.open_resources("p2")) == 50
    record = journal.build("p2")
    assert record is not None and not record.alive, "the child has exited"


def test_process_start_time_of_self_and_of_a_missing_pid() -> None:
    mine = process_start_time(os.getpid())
    assert mine is not None and mine.isdigit()
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    assert mine == fields[19], "field 22 of /proc/pid/stat (starttime)"
    assert process_start_time(2**22 + 1) is None  # above pid_max's ceiling: never a process
    assert process_state(2**22 + 1) is None and process_state(os.getpid()) in ("R", "S")


def test_process_start_time_with_parens_and_spaces_in_the_name(tmp_path: Path) -> None:
    """The command name is free text; `) (` in it must not shift the fields."""
    sleeper = tmp_path / "a) b (c"
    shutil.copy("/bin/sleep", sleeper)
    proc = subprocess.Popen([str(sleeper), "30"])
    try:
        start = process_start_time(proc.pid)
        assert start is not None and start.isdigit()
        assert process_alive(proc.pid, start)
    finally:
        proc.kill()
        proc.wait()
    assert not process_alive(proc.pid, start)


def test_alive_needs_the_same_pid_and_start_time() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        start = process_start_time(proc.pid)
        assert start is not None
        host = os.uname().nodename

        def record(pid_start: str, on_host: str = host) -> BuildRecord:
            return BuildRecord("x", "web", "local", proc.pid, pid_start, on_host, 0.0, None,
                               "running")

        assert record(start).alive
        # The pid was reused by another process: same number, different start time.
        assert not record(str(int(start) + 1)).alive
        assert not record("?").alive
        # Another machine's build cannot be checked from here, so it is never taken for alive.
        assert not record(start, "some-other-host").alive
    finally:
        proc.kill()
        proc.wait()
    assert not record(start).alive, "a dead process is not alive"


def test_a_zombie_is_not_alive() -> None:
    """Exited but not yet reaped (bake killed, its parent not waiting yet): dead."""
    proc = subprocess.Popen(["sleep", "0.1"])
    start = process_start_time(proc.pid)
    assert start is not None and process_alive(proc.pid, start)
    assert process_running(proc.pid)
    deadline = time.monotonic() + 10
    while process_state(proc.pid) != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert process_start_time(proc.pid) == start, "a zombie keeps its /proc entry"
    assert not process_alive(proc.pid, start)
    assert not process_running(proc.pid)
    proc.wait()
    assert process_state(proc.pid) is None and not process_running(proc.pid), "reaped: gone"


def test_a_locked_journal_names_the_file_and_is_not_called_damaged(
    sqlite_journal: Journal,
) -> None:
    from bakeansible.pipeline.journal import JournalError

    journal = sqlite_journal
    assert journal.path is not None
    holder = sqlite3.connect(journal.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(JournalError) as err:
            Journal(journal.path, timeout=0.2).start_build("b1", "web", "local")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not err.value.damaged, "a lock is waited out or reported, never reset"
    assert str(journal.path) in err.value.message and "locked" in err.value.message
    assert "fuser" in (err.value.hint or "")


def test_bakes_creating_the_journal_at_once_never_see_it_half_made(
    tmp_path: Path, database_url: str
) -> None:
    go = tmp_path / "go"
    code = (
        "import sys, time; from pathlib import Path\n"
        "from bakeansible.pipeline.journal import Journal\n"
        "while not Path(sys.argv[2]).exists(): time.sleep(0.001)\n"
        "Journal(url=sys.argv[1]).builds()\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, database_url, str(go)], cwd=REPO,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    time.sleep(1.5)  # every process imported bake and waits for the start line
    go.touch()
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
