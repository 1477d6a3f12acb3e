"""Host children of a build: journaled, marked, and killed as a whole process group."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from bakeansible.errors import BuildCancelled
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.host import build_processes, delete_processes, kill_build_processes
from bakeansible.pipeline.journal import Journal
from bakeansible.procinfo import process_start_time
from bakeansible.procs import run_cancellable


@pytest.fixture
def ctx(tmp_path: Path) -> BuildContext:
    journal = Journal(tmp_path / "journal.sqlite")
    build_id = uuid.uuid4().hex
    journal.start_build(build_id, "web", "local")
    return BuildContext(build_id=build_id, build_name="web", builder_type="local",
                        journal=journal)


def test_cancel_kills_the_whole_group_and_the_journal_saw_it(ctx: BuildContext) -> None:
    assert ctx.journal is not None
    cancel = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            # The grandchild stands for zstd under tar, or apt under mmdebstrap.
            run_cancellable(["sh", "-c", "sleep 300 & sleep 300; wait"], cancel=cancel,
                            owner=ctx)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 10
    while len(build_processes(ctx.build_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = build_processes(ctx.build_id)
    assert len(pids) == 3, "sh and both sleeps carry the build's marker"
    (res,) = ctx.journal.open_resources(ctx.build_id)
    assert res.kind == "host.process" and res.state == "created"
    assert res.data["pid"] in pids and res.data["start"] == process_start_time(res.data["pid"])
    cancel.set()
    worker.join(15)
    assert [type(e) for e in errors] == [BuildCancelled]
    assert build_processes(ctx.build_id) == [], "the background sleep went with its group"
    assert ctx.journal.open_resources(ctx.build_id) == []


def test_cleanup_ends_a_dead_builds_children_even_out_of_its_group(ctx: BuildContext) -> None:
    """As after kill -9 of bake: a detached child (like ssh's ControlMaster, which daemonizes
    into a session of its own) is found by its marker and ended by the deleter."""
    assert ctx.journal is not None
    import subprocess

    from bakeansible.pipeline.host import child_env

    detached = subprocess.Popen(["setsid", "sleep", "300"], env=child_env(ctx.build_id))
    rid = ctx.journal.intend(ctx.build_id, "host.process", what="ssh")
    try:
        delete_processes(ctx.journal.resource(rid))
        assert detached.wait(5) is not None
        assert build_processes(ctx.build_id) == []
    finally:
        detached.kill()
        detached.wait()
    assert kill_build_processes(ctx.build_id) == []
