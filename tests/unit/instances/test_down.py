"""``stop_instance`` shuts the container down in order, waits, then kills it, saying so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bakeansible.instances.lifecycle import stop_instance
from bakeansible.instances.record import BUILDER_TYPE
from bakeansible.pipeline.journal import Journal
from bakeansible.procinfo import process_running

# Stands in for a container that does not stop (both its systemd-nspawn and its init): it
# ignores SIGTERM, and takes SIGRTMIN+3 as systemd does (blocked, for a signalfd) but never acts.
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN + 3])
print(1, flush=True)
time.sleep(60)
"""


# What `bake instance up` leaves in the journal, recorded by a process that has ended as `up`
# has: a held instance whose container (nspawn and init) is the given process.
RECORD_HELD = """
import sys
from bakeansible.pipeline.journal import Journal
from bakeansible.procinfo import process_start_time
journal, pid = Journal(sys.argv[1]), int(sys.argv[2])
journal.start_build("b" * 32, "web", "instance")
rid = journal.intend("b" * 32, "local.container", machine="bake-test-down")
start = process_start_time(pid)
journal.created(rid, "bake-test-down", nspawn_pid=pid, nspawn_start=start, init_pid=pid,
                init_start=start)
journal.finish_build("b" * 32, "held")
"""


def held_instance(path: Path, nspawn: subprocess.Popen[str]) -> Journal:
    subprocess.run([sys.executable, "-c", RECORD_HELD, str(path), str(nspawn.pid)], check=True)
    return Journal(path)


def test_a_container_that_does_not_stop_is_killed_after_the_timeout(tmp_path: Path) -> None:
    nspawn = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
    try:
        assert nspawn.stdout is not None and nspawn.stdout.readline() == "1\n"  # SIGTERM ignored
        journal = held_instance(tmp_path / "journal.sqlite", nspawn)
        assert journal.builds()[0].builder_type == BUILDER_TYPE
        said: list[str] = []
        assert stop_instance(journal, "web", shutdown_timeout=0.5, say=said.append) == []
        assert said == ["Shutting down web...", "web did not stop in 0.5s; killing it"]
        nspawn.wait(10)
        assert not process_running(nspawn.pid)
        assert journal.open_resources() == []
        assert journal.builds()[0].state == "removed"
    finally:
        nspawn.kill()
        nspawn.wait()


def test_force_kills_at_once(tmp_path: Path) -> None:
    nspawn = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
    try:
        assert nspawn.stdout is not None and nspawn.stdout.readline() == "1\n"
        journal = held_instance(tmp_path / "journal.sqlite", nspawn)
        said: list[str] = []
        assert stop_instance(journal, "web", shutdown_timeout=None, say=said.append) == []
        assert said == []
        nspawn.wait(10)
        assert journal.open_resources() == []
    finally:
        nspawn.kill()
        nspawn.wait()
