"""Locks and liveness across processes and hosts, on both backends: a second taker waits and
is told who holds the lock, a holder killed with kill -9 releases it, and cleanup never reaps a
live build of another host (on PostgreSQL its build lock says whether it is alive)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bakeansible.errors import BuildCancelled
from bakeansible.pipeline.journal import Journal, Resource
from bakeansible.pipeline.reaper import deleter, sweep
from bakeansible.state import Database, Holder, acquire, waiters
from bakeansible.state.locks import STALE_AFTER

REPO = Path(__file__).resolve().parents[3]

HOLDER = """
import sys, time
from bakeansible.state import acquire, open_database
lock = acquire(open_database(sys.argv[1]), "image:local:site", "holder-build-id", "site")
print("held", flush=True)
time.sleep(600)
"""

# A build of another host: journaled like any build, then its host rewritten.
FOREIGN = """
import sys, time
from bakeansible.pipeline.journal import Journal
journal = Journal(url=sys.argv[1])
journal.start_build("far1", "site", "tencentcloud-cvm")
journal.db.execute("UPDATE builds SET host = 'far-host' WHERE build_id = 'far1'")
journal.intend("far1", "local.file", path="/far/key")
journal.intend("far1", "test.cloudthing", name="ins-far")
print("started", flush=True)
time.sleep(600)
"""


def _start(code: str, url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code, url], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() in ("held", "started"), proc.stderr.read() if proc.stderr else ""
    return proc


def _kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def test_a_second_taker_waits_names_the_holder_and_a_killed_holder_frees_it(
    database_url: str, database: Database
) -> None:
    holder = _start(HOLDER, database_url)
    try:
        told: list[Holder | None] = []
        cancel = threading.Event()
        threading.Timer(1.0, cancel.set).start()
        with pytest.raises(BuildCancelled):
            acquire(database, "image:local:site", "mine", "site", cancel=cancel,
                    on_wait=told.append, interval=0.1)
        (who,) = told
        assert who is not None and (who.build_name, who.pid) == ("site", holder.pid)
        assert who.host == os.uname().nodename and who.build_id == "holder-build-id"
        assert f"pid {holder.pid}" in who.describe()
        # Another name is free meanwhile.
        acquire(database, "image:local:other", "mine", "other").release()

        got: list[object] = []
        waiter = threading.Thread(target=lambda: got.append(
            acquire(database, "image:local:site", "mine", "site", interval=0.1)))
        waiter.start()
        waiter.join(1.0)
        assert waiter.is_alive(), "still waiting while the holder lives"
        # The waiting build is listed (what `bake builds` shows), behind the holder.
        (listed,) = Journal(url=database_url).waiting()
        assert (listed.build_id, listed.lock, listed.pid) == ("mine", "image:local:site",
                                                              os.getpid())
        _kill9(holder)
        waiter.join(30)
        assert got, "kill -9 of the holder released the lock"
    finally:
        if holder.poll() is None:
            _kill9(holder)
    assert database.one("SELECT build_id FROM lock_holders WHERE name = 'image:local:site'") == (
        "mine",
    )
    assert waiters(database) == [], "a build that got the lock (or gave up) waits no more"


def test_a_waiter_that_stopped_beating_is_not_listed(database: Database) -> None:
    """A build killed while waiting leaves its row; once its heartbeat is stale it is not
    shown, and the next wait removes the row."""
    old = time.time() - STALE_AFTER - 1
    database.execute(
        "INSERT INTO lock_waiters (build_id, name, build_name, host, pid, since, seen_at)"
        " VALUES ('dead1', 'image:local:site', 'site', 'h', 1, ?, ?)", (old, old))
    assert waiters(database) == []
    held = acquire(database, "image:local:x", "holder", "x")
    try:
        cancel = threading.Event()
        threading.Timer(0.5, cancel.set).start()
        with pytest.raises(BuildCancelled):
            acquire(database, "image:local:x", "w2", "x", cancel=cancel, interval=0.1)
    finally:
        held.release()
    assert database.execute("SELECT build_id FROM lock_waiters") == []


def test_cleanup_never_reaps_a_live_build_of_another_host(database_url: str) -> None:
    reaped: list[str] = []

    @deleter("test.cloudthing")
    def delete_cloudthing(resource: Resource) -> None:
        reaped.append(resource.data["name"])

    journal = Journal(url=database_url)
    far = _start(FOREIGN, database_url)
    shared = database_url.startswith("postgresql")
    try:
        record = journal.build("far1")
        assert record is not None and not record.local
        assert record.checkable == shared and record.alive == shared
        report = sweep(journal)
        assert report.skipped_builds == ["far1"] and report.removed == [] and reaped == []
        assert len(journal.open_resources("far1")) == 2
    finally:
        _kill9(far)

    record = journal.build("far1")
    assert record is not None and not record.alive
    report = sweep(journal)
    if not shared:
        # SQLite cannot tell whether another host's build lives: it is left alone.
        assert report.skipped_builds == ["far1"] and reaped == []
        assert journal.build("far1").state == "running"  # type: ignore[union-attr]
        return
    assert reaped == ["ins-far"], "the dead build's cloud resources are removed from here"
    assert [(r.kind, host) for r, host in report.elsewhere] == [("local.file", "far-host")]
    assert [r.kind for r in journal.open_resources("far1")] == ["local.file"]
    assert journal.build("far1").state == "crashed"  # type: ignore[union-attr]
