"""The reaper: sweeping what dead builds left, with the local builder's real deleters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.reaper import sweep

REPO = Path(__file__).resolve().parents[3]

# A bake process that starts a build, journals resources and dies without cleaning up.
CHILD = """
import json, sys
from pathlib import Path
from bakeansible.pipeline.journal import Journal
journal = Journal(Path(sys.argv[1]))
journal.start_build(sys.argv[2], "web", "local")
ids = []
for kind, path, created in json.loads(sys.argv[3]):
    rid = journal.intend(sys.argv[2], kind, path=path)
    if created:
        journal.created(rid, path)
    ids.append(rid)
print(json.dumps(ids))
"""


def dead_build(
    journal: Journal, build_id: str, resources: list[tuple[str, Path, bool]]
) -> list[int]:
    """Journal ``resources`` (kind, path, created?) from a process that then exits."""
    spec = json.dumps([(kind, str(path), created) for kind, path, created in resources])
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(journal.path), build_id, spec],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout
    ids: list[int] = json.loads(out)
    return ids


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "state" / "journal.sqlite")


@pytest.fixture
def leftovers(tmp_path: Path) -> dict[str, Path]:
    """What a killed local build leaves: its instance directory (with files) and a key."""
    workdir = tmp_path / "instances" / "dead1"
    (workdir / "upper/etc").mkdir(parents=True)
    (workdir / "upper/etc/hostname").write_text("bake-dead1\n")
    key = workdir / "ssh" / "id_ed25519"
    key.parent.mkdir()
    key.write_text("PRIVATE KEY\n")
    partial = tmp_path / "output" / "web.tar.zst.partial"
    partial.parent.mkdir()
    partial.write_bytes(b"\x28\xb5\x2f\xfd")
    return {"workdir": workdir, "key": key, "partial": partial}


def test_sweep_removes_a_dead_builds_files_and_dirs(
    journal: Journal, leftovers: dict[str, Path]
) -> None:
    ids = dead_build(journal, "dead1", [
        ("local.directory", leftovers["workdir"], True),
        ("local.file", leftovers["key"], True),
        # Killed between "intent" and "created": the file may exist all the same.
        ("local.file", leftovers["partial"], False),
    ])
    report = sweep(journal)
    assert [r.id for r in report.removed] == ids[::-1], "newest first"
    assert report.failed == [] and report.skipped_builds == []
    assert not leftovers["workdir"].exists()
    assert not leftovers["partial"].exists()
    assert journal.open_resources() == []
    record = journal.build("dead1")
    assert record is not None and record.state == "crashed"


def test_dry_run_removes_nothing(journal: Journal, leftovers: dict[str, Path]) -> None:
    ids = dead_build(journal, "dead1", [
        ("local.directory", leftovers["workdir"], True),
        ("local.file", leftovers["partial"], True),
    ])
    report = sweep(journal, dry_run=True)
    assert [r.id for r in report.removed] == ids[::-1]
    assert leftovers["workdir"].is_dir() and leftovers["key"].is_file()
    assert leftovers["partial"].is_file()
    assert [r.id for r in journal.open_resources()] == ids[::-1]
    record = journal.build("dead1")
    assert record is not None and record.state == "running", "a dry run changes no state"


def test_running_build_is_skipped(journal: Journal, leftovers: dict[str, Path]) -> None:
    journal.start_build("alive1", "web", "local")  # this process: alive
    rid = journal.intend("alive1", "local.directory", path=str(leftovers["workdir"]))
    journal.created(rid, str(leftovers["workdir"]))
    report = sweep(journal)
    assert report.removed == [] and report.failed == []
    assert report.skipped_builds == ["alive1"]
    assert leftovers["workdir"].is_dir()
    assert [r.id for r in journal.open_resources()] == [rid]
    record = journal.build("alive1")
    assert record is not None and record.state == "running"

    # Explicitly including running builds (what a build's own crash handler would do).
    report = sweep(journal, include_alive=True)
    assert [r.id for r in report.removed] == [rid]
    assert not leftovers["workdir"].exists()


def test_dead_and_running_builds_together(journal: Journal, leftovers: dict[str, Path]) -> None:
    dead_build(journal, "dead1", [("local.file", leftovers["partial"], True)])
    journal.start_build("alive1", "db", "local")
    journal.created(journal.intend("alive1", "local.file", path=str(leftovers["key"])))
    report = sweep(journal)
    assert [r.build_id for r in report.removed] == ["dead1"]
    assert report.skipped_builds == ["alive1"]
    assert not leftovers["partial"].exists() and leftovers["key"].exists()


def test_only_the_given_build(journal: Journal, leftovers: dict[str, Path]) -> None:
    dead_build(journal, "dead1", [("local.file", leftovers["partial"], True)])
    dead_build(journal, "dead2", [("local.file", leftovers["key"], True)])
    report = sweep(journal, build_id="dead2")
    assert [r.build_id for r in report.removed] == ["dead2"]
    assert leftovers["partial"].exists() and not leftovers["key"].exists()
    assert [r.build_id for r in journal.open_resources()] == ["dead1"]
    rec1, rec2 = journal.build("dead1"), journal.build("dead2")
    assert rec1 is not None and rec1.state == "running"
    assert rec2 is not None and rec2.state == "crashed"


def test_failing_deleter_is_reported_and_not_marked_gone(
    journal: Journal, leftovers: dict[str, Path], tmp_path: Path
) -> None:
    # A "file" that turned out to be a non-empty directory: unlink fails, even for root.
    not_a_file = tmp_path / "surprise"
    (not_a_file / "inside").mkdir(parents=True)
    bad, good = dead_build(journal, "dead1", [
        ("local.file", not_a_file, True),
        ("local.file", leftovers["partial"], True),
    ])
    report = sweep(journal)
    assert [r.id for r in report.removed] == [good]
    ((failed, why),) = report.failed
    assert failed.id == bad and "Is a directory" in why
    assert not leftovers["partial"].exists(), "one failure does not stop the others"
    assert [r.id for r in journal.open_resources()] == [bad]

    # Next time the same resource is tried again (and fails again, still reported).
    again = sweep(journal)
    assert [r.id for r, _ in again.failed] == [bad] and again.removed == []


def test_unknown_kind_is_reported(journal: Journal, tmp_path: Path) -> None:
    (rid,) = dead_build(journal, "dead1", [("martian.thing", tmp_path / "x", True)])
    report = sweep(journal)
    ((res, why),) = report.failed
    assert res.id == rid and "no deleter for resource kind 'martian.thing'" in why
    assert [r.id for r in journal.open_resources()] == [rid]


def test_sweep_is_idempotent(journal: Journal, leftovers: dict[str, Path]) -> None:
    dead_build(journal, "dead1", [
        ("local.directory", leftovers["workdir"], True),
        ("local.file", leftovers["partial"], True),
    ])
    first = sweep(journal)
    assert len(first.removed) == 2
    second = sweep(journal)
    assert (second.removed, second.failed, second.skipped_builds) == ([], [], [])
    record = journal.build("dead1")
    assert record is not None and record.state == "crashed"


def test_resource_already_gone_counts_as_removed(
    journal: Journal, leftovers: dict[str, Path]
) -> None:
    """Deleted by hand (or by a cleanup that died before journaling it): still a success."""
    ids = dead_build(journal, "dead1", [
        ("local.directory", leftovers["workdir"], True),
        ("local.file", leftovers["partial"], True),
    ])
    leftovers["partial"].unlink()
    subprocess.run(["rm", "-rf", str(leftovers["workdir"])], check=True)
    report = sweep(journal)
    assert sorted(r.id for r in report.removed) == sorted(ids) and report.failed == []


def test_finished_build_keeps_its_state(journal: Journal, leftovers: dict[str, Path]) -> None:
    """An aborted build (-on-error=abort) stays "aborted" after `bake cleanup`, not "crashed"."""
    dead_build(journal, "dead1", [("local.file", leftovers["partial"], True)])
    journal.finish_build("dead1", "aborted")
    sweep(journal)
    record = journal.build("dead1")
    assert record is not None and record.state == "aborted"
    assert not leftovers["partial"].exists()


def test_automatic_sweep_spares_aborted_builds(
    journal: Journal, leftovers: dict[str, Path]
) -> None:
    """-on-error=abort keeps resources for debugging: the next bake run must not take them."""
    (kept_rid,) = dead_build(journal, "aborted1", [("local.directory", leftovers["workdir"], True)])
    journal.finish_build("aborted1", "aborted")
    dead_build(journal, "dead1", [("local.file", leftovers["partial"], True)])
    report = sweep(journal, keep_aborted=True)
    assert [r.build_id for r in report.removed] == ["dead1"]
    assert report.kept_builds == ["aborted1"]
    assert leftovers["workdir"].is_dir()
    assert [r.id for r in journal.open_resources()] == [kept_rid]

    # An explicit `bake cleanup` removes them.
    report = sweep(journal)
    assert [r.id for r in report.removed] == [kept_rid]
    assert not leftovers["workdir"].exists()


def test_dead_build_without_resources_is_marked_crashed(journal: Journal) -> None:
    """A build killed before it created anything holds nothing, but is not left 'running'."""
    build_id = "b-empty"
    dead_build(journal, build_id, [])
    report = sweep(journal)
    assert report.removed == [] and report.failed == []
    record = journal.build(build_id)
    assert record is not None and record.state == "crashed"


def test_a_held_instance_is_swept_only_when_named(
    journal: Journal, leftovers: dict[str, Path]
) -> None:
    """A finished `bake instance up` (state held) outlives its process on purpose: `bake
    cleanup` and the automatic sweep keep it, `bake instance down` (its build id) removes it."""
    dead_build(journal, "held1", [("local.directory", leftovers["workdir"], True)])
    journal.finish_build("held1", "held")
    for kwargs in ({}, {"dry_run": True}, {"keep_aborted": True}):
        report = sweep(journal, **kwargs)  # type: ignore[arg-type]
        assert report.removed == [] and report.held_builds == ["held1"], kwargs
        assert leftovers["workdir"].exists()
        assert journal.build("held1").state == "held"  # type: ignore[union-attr]
    report = sweep(journal, build_id="held1")
    assert [r.kind for r in report.removed] == ["local.directory"]
    assert not leftovers["workdir"].exists()
    assert journal.build("held1").state == "removed"  # type: ignore[union-attr]
