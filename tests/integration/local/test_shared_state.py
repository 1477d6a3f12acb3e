"""Two real bakes of one image against one PostgreSQL journal: the second waits, naming the
first; kill -9 of the first frees the lock; `bake cleanup` then removes what the killed one left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env
from tests.postgres import Cluster
from tests.procs import bake_until

pytestmark = pytest.mark.usefixtures("base_rootfs")

QUICK = (
    "- hosts: all\n  gather_facts: false\n  tasks:\n"
    "    - name: Write a file\n      ansible.builtin.copy:\n"
    "        dest: /etc/baked\n        content: yes\n"
)


def _read_until(proc: subprocess.Popen[str], text: str, seen: list[str]) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            return
        assert time.monotonic() < deadline, "".join(seen)
    raise AssertionError(f"no {text!r} in:\n{''.join(seen)}")


def test_two_bakes_of_one_image_take_turns_and_a_killed_holder_frees_it(
    project: Path, state_dir: Path, postgres: Cluster, no_leaks: None
) -> None:
    url = postgres.new_database()
    (project / "playbooks/quick.yml").write_text(QUICK)
    args = ["--playbook", "playbooks/quick.yml", "-color=false"]
    first, first_seen = bake_until(
        args, project, bake_env(BAKE_DATABASE_URL=url), "Creating the container's network...",
        None,
    )
    second: subprocess.Popen[str] | None = None
    journal = Journal(url=url)
    try:
        second, seen = bake_until(
            [*args, "--database-url", url], project, bake_env(), "Waiting for", None
        )
        waiting = seen[-1]
        assert "build 'local'" in waiting and f"pid {first.pid}" in waiting, "".join(seen)
        assert f"on {os.uname().nodename}" in waiting and "image local:quick" in waiting
        assert [b.pid for b in journal.builds()] == [first.pid], "the second has not started"
        listed = subprocess.run(
            ["bake", "builds", "--database-url", url], cwd=project, env=bake_env(),
            capture_output=True, text=True, timeout=60,
        )
        line = next((x for x in listed.stdout.splitlines() if "waiting" in x), listed.stdout)
        assert f"pid {second.pid}  waiting for image local:quick behind build 'local'" in line
        assert f"pid {first.pid}" in line, listed.stdout + listed.stderr

        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
        _read_until(second, "Got the lock on image local:quick", seen)
        second.send_signal(signal.SIGTERM)
        rest, _ = second.communicate(timeout=120)
        out = "".join(seen) + rest
        assert second.returncode == 1 and "Traceback" not in out, out
        states = {b.pid: b.state for b in journal.builds()}
        assert states == {first.pid: "running", second.pid: "cancelled"}, states
        assert journal.open_resources(), "the killed bake left resources"
        assert not state_dir.joinpath("journal.sqlite").exists(), "nothing went to SQLite"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(30)
        # Always: the killed bake's container and network must not outlive the test.
        cleanup = subprocess.run(
            ["bake", "cleanup"], cwd=project, env=bake_env(BAKE_DATABASE_URL=url),
            capture_output=True, text=True, timeout=120,
        )
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert journal.open_resources() == []
    assert {b.pid: b.state for b in journal.builds()}[first.pid] == "crashed"
