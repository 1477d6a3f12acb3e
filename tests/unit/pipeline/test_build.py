"""run_builds and run_build with fake builders whose steps sleep and fail; post-processors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bakeansible.artifacts.manifest import append_to_manifest, manifest_entry
from bakeansible.config.model import BuildSpec, PostProcessorSpec
from bakeansible.errors import BuildCancelled, StepError
from bakeansible.pipeline.build import (
    BuildResult,
    PlannedBuild,
    RunOptions,
    kept_image,
    run_build,
    run_builds,
)
from bakeansible.pipeline.context import Artifact, BuildContext
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.runner import Choice, OnError
from bakeansible.pipeline.step import Outcome, Step
from bakeansible.ui import RecordingUi

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Gauge:
    """Counts builds inside their work step, and the most ever inside at once."""

    inside: int = 0
    peak: int = 0
    started: list[str] = field(default_factory=list)
    cleanups: list[tuple[str, str, Outcome]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, name: str) -> None:
        with self.lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
            self.started.append(name)

    def leave(self) -> None:
        with self.lock:
            self.inside -= 1


class WorkStep(Step[BuildContext]):
    """Sleeps (cancellably), optionally waits at a barrier, then succeeds or fails."""

    title = "Working..."

    def __init__(
        self, gauge: Gauge, seconds: float, fail: bool, barrier: threading.Barrier | None
    ) -> None:
        self.gauge = gauge
        self.seconds = seconds
        self.fail = fail
        self.barrier = barrier

    def run(self, ctx: BuildContext) -> None:
        self.gauge.enter(ctx.build_name)
        try:
            if self.barrier is not None:
                self.barrier.wait(10)
            ctx.sleep(self.seconds)
        finally:
            self.gauge.leave()
        if self.fail:
            raise StepError(f"{ctx.build_name} failed on purpose")

    def cleanup(self, ctx: BuildContext, outcome: Outcome) -> None:
        with self.gauge.lock:
            self.gauge.cleanups.append((ctx.build_name, "work", outcome))


class ImageStep(Step[BuildContext]):
    """Writes a small image file and sets the artifact, like a snapshot step."""

    title = "Creating image..."

    def run(self, ctx: BuildContext) -> None:
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        image = ctx.output_dir / f"{ctx.build_name}.img"
        image.write_bytes(b"image of " + ctx.build_name.encode())
        ctx.artifact = Artifact("fake", str(image), f"Image {image}", files=[image])


@dataclass
class FakeBuilder:
    """The two methods run_build needs from a builder."""

    output_dir: Path
    make_steps: Callable[[], list[Step[BuildContext]]]

    def source_identity(self) -> str:
        return "fake-source"

    def new_context(self, base: BuildContext) -> BuildContext:
        base.output_dir = self.output_dir
        return base

    def steps(self, ctx: BuildContext) -> list[Step[BuildContext]]:
        return self.make_steps()


@dataclass
class Harness:
    """Plans fake builds and runs them, keeping each build's RecordingUi."""

    out: Path
    gauge: Gauge = field(default_factory=Gauge)
    uis: dict[str, RecordingUi] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)

    def build(
        self,
        name: str,
        seconds: float = 0.05,
        *,
        fail: bool = False,
        barrier: threading.Barrier | None = None,
        post: tuple[PostProcessorSpec, ...] = (),
    ) -> PlannedBuild:
        def make_steps() -> list[Step[BuildContext]]:
            return [WorkStep(self.gauge, seconds, fail, barrier), ImageStep()]

        spec = BuildSpec(name, "fake", config=None, post_processors=post)
        return PlannedBuild(spec, FakeBuilder(self.out, make_steps))

    def ui_for(self, name: str) -> RecordingUi:
        ui = self.uis[name] = RecordingUi()
        return ui

    def run(
        self,
        planned: list[PlannedBuild],
        options: RunOptions,
        cancel: threading.Event | None = None,
    ) -> list[BuildResult]:
        def on_done(result: BuildResult) -> None:
            self.done.append(result.name)

        return run_builds(planned, options, self.ui_for, cancel or threading.Event(), on_done)


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "output")


def options(tmp_path: Path, **kw: object) -> RunOptions:
    return RunOptions(project_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_concurrency_limit_is_respected(h: Harness, tmp_path: Path) -> None:
    planned = [h.build(f"b{i}", 0.15) for i in range(5)]
    results = h.run(planned, options(tmp_path, parallel=2))
    assert all(r.ok for r in results), [str(r.error) for r in results]
    assert h.gauge.peak == 2


def test_parallel_one_runs_builds_one_by_one_in_order(h: Harness, tmp_path: Path) -> None:
    planned = [h.build(f"b{i}", 0.02) for i in range(4)]
    results = h.run(planned, options(tmp_path, parallel=1))
    assert all(r.ok for r in results)
    assert h.gauge.peak == 1
    assert h.gauge.started == ["b0", "b1", "b2", "b3"]


def test_zero_means_all_at_once(h: Harness, tmp_path: Path) -> None:
    # Every build waits at the barrier until all six are inside their step at the same time.
    barrier = threading.Barrier(6)
    planned = [h.build(f"b{i}", 0.0, barrier=barrier) for i in range(6)]
    results = h.run(planned, options(tmp_path, parallel=0))
    assert all(r.ok for r in results), [str(r.error) for r in results]
    assert h.gauge.peak == 6


def test_results_follow_the_template_order(h: Harness, tmp_path: Path) -> None:
    planned = [h.build("slow", 0.4), h.build("fast", 0.0)]
    results = h.run(planned, options(tmp_path))
    assert [r.name for r in results] == ["slow", "fast"]
    assert h.done == ["fast", "slow"], "on_done reports builds as they finish"
    assert all(r.ok and r.duration > 0 for r in results)
    assert results[0].duration > results[1].duration


def test_a_failure_does_not_stop_the_others_without_fail_fast(
    h: Harness, tmp_path: Path
) -> None:
    planned = [h.build("bad", 0.0, fail=True), h.build("good", 0.3)]
    bad, good = h.run(planned, options(tmp_path))
    assert isinstance(bad.error, StepError) and not bad.ok and not bad.cancelled
    assert "bad failed on purpose" in str(bad.error)
    assert good.ok and good.artifact is not None
    assert ("bad", "work", Outcome.FAILED) in h.gauge.cleanups
    assert ("good", "work", Outcome.SUCCESS) in h.gauge.cleanups


def test_fail_fast_cancels_the_others_and_they_clean_up(h: Harness, tmp_path: Path) -> None:
    planned = [h.build("slow1", 30), h.build("bad", 0.1, fail=True), h.build("slow2", 30)]
    started = time.monotonic()
    slow1, bad, slow2 = h.run(planned, options(tmp_path, fail_fast=True))
    assert time.monotonic() - started < 10, "the slow builds were cancelled, not waited for"
    assert isinstance(bad.error, StepError) and not bad.cancelled
    assert slow1.cancelled and slow2.cancelled
    assert isinstance(slow1.error, BuildCancelled)
    assert sorted(h.gauge.cleanups) == [
        ("bad", "work", Outcome.FAILED),
        ("slow1", "work", Outcome.CANCELLED),
        ("slow2", "work", Outcome.CANCELLED),
    ]
    assert not (h.out / "manifest.json").exists()


def test_fail_fast_cancels_builds_still_queued(h: Harness, tmp_path: Path) -> None:
    planned = [h.build("bad", 0.05, fail=True), h.build("queued1"), h.build("queued2")]
    bad, q1, q2 = h.run(planned, options(tmp_path, fail_fast=True, parallel=1))
    assert not bad.ok and not bad.cancelled
    assert q1.cancelled and q2.cancelled
    assert h.gauge.started == ["bad"], "queued builds never started"


def test_cancel_before_start_runs_nothing(h: Harness, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    for _ in range(20):  # the cancel relay runs in a thread: check it never loses a race
        planned = [h.build(f"b{i}") for i in range(3)]
        results = h.run(planned, options(tmp_path), cancel)
        assert all(r.cancelled for r in results)
    assert h.gauge.started == [] and h.gauge.cleanups == []


def test_cancel_while_running_cancels_every_build(h: Harness, tmp_path: Path) -> None:
    cancel = threading.Event()
    planned = [h.build("a", 30), h.build("b", 30), h.build("queued", 30)]
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    results = h.run(planned, options(tmp_path, parallel=2), cancel)
    assert time.monotonic() - started < 10
    assert all(r.cancelled for r in results)
    assert sorted(h.gauge.cleanups) == [
        ("a", "work", Outcome.CANCELLED), ("b", "work", Outcome.CANCELLED)
    ]
    assert "queued" not in h.gauge.started


def test_builds_are_journaled_with_their_end_state(h: Harness, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    planned = [h.build("ok"), h.build("bad", fail=True)]
    h.run(planned, options(tmp_path, journal=journal))
    states = {r.name: r.state for r in journal.builds()}
    assert states == {"ok": "succeeded", "bad": "failed"}
    assert all(r.finished_at is not None for r in journal.builds())

    cancel = threading.Event()
    cancel.set()
    run_build(h.build("gone"), options(tmp_path, journal=journal), RecordingUi(), cancel)
    record = journal.builds()[0]
    assert (record.name, record.state) == ("gone", "cancelled")


@pytest.mark.parametrize(
    ("on_error", "answer", "state"),
    [
        (OnError.CLEANUP, None, "failed"),
        (OnError.ABORT, None, "aborted"),
        (OnError.ASK, Choice.ABORT, "aborted"),
        (OnError.ASK, Choice.CLEANUP, "failed"),
    ],
)
def test_aborted_builds_are_journaled_as_aborted(
    h: Harness, tmp_path: Path, on_error: OnError, answer: Choice | None, state: str
) -> None:
    """"aborted" is what spares a build's kept resources from the automatic sweep."""
    journal = Journal(tmp_path / "journal.sqlite")
    opts = options(tmp_path, journal=journal, on_error=on_error)
    if answer is not None:
        opts.ask = lambda _step, _error: answer
    (result,) = h.run([h.build("bad", fail=True)], opts)
    assert isinstance(result.error, StepError)
    (record,) = journal.builds()
    assert record.state == state


def test_each_build_talks_to_its_own_ui(h: Harness, tmp_path: Path) -> None:
    h.run([h.build("web"), h.build("db")], options(tmp_path))
    assert set(h.uis) == {"web", "db"}
    for name, ui in h.uis.items():
        assert ("say", "Working...") in ui.lines
        assert ("message", f"Manifest: {h.out / 'manifest.json'}") in ui.lines, name


# Post-processors and the manifest ---------------------------------------------------------


def test_default_manifest_beside_the_images_gets_one_entry_per_build(
    h: Harness, tmp_path: Path
) -> None:
    opts = options(tmp_path)
    results = h.run([h.build(f"b{i}") for i in range(5)], opts)
    assert all(r.ok for r in results)
    doc = json.loads((h.out / "manifest.json").read_text())
    assert doc["last_run_uuid"] == opts.run_uuid
    assert sorted(b["name"] for b in doc["builds"]) == [f"b{i}" for i in range(5)]
    entry = next(b for b in doc["builds"] if b["name"] == "b0")
    image = h.out / "b0.img"
    assert entry["builder_type"] == "fake"
    assert entry["artifact_id"] == str(image)
    assert entry["files"] == [{"name": str(image), "size": image.stat().st_size}]
    assert entry["packer_run_uuid"] == opts.run_uuid
    assert isinstance(entry["build_time"], int)


def test_two_runs_append_and_update_last_run_uuid(h: Harness, tmp_path: Path) -> None:
    first, second = options(tmp_path), options(tmp_path)
    assert first.run_uuid != second.run_uuid
    h.run([h.build("web")], first)
    h.run([h.build("web")], second)
    doc = json.loads((h.out / "manifest.json").read_text())
    assert [b["packer_run_uuid"] for b in doc["builds"]] == [first.run_uuid, second.run_uuid]
    assert doc["last_run_uuid"] == second.run_uuid


def test_manifest_post_processor_options(h: Harness, tmp_path: Path) -> None:
    post = (
        PostProcessorSpec("manifest", {
            "output": "out/packer-manifest.json", "strip_path": True, "strip_time": True,
            "custom_data": {"team": "web"},
        }),
    )
    (result,) = h.run([h.build("web", post=post)], options(tmp_path))
    assert result.ok
    assert not (h.out / "manifest.json").exists(), "an explicit manifest replaces the default"
    doc = json.loads((tmp_path / "out/packer-manifest.json").read_text())
    (entry,) = doc["builds"]
    assert entry["files"] == [{"name": "web.img", "size": len(b"image of web")}]
    assert "build_time" not in entry
    assert entry["custom_data"] == {"team": "web"}


def test_checksum_post_processor(h: Harness, tmp_path: Path) -> None:
    post = (PostProcessorSpec("checksum", {
        "checksum_types": ["sha256", "md5"], "output": "{{.BuildName}}_{{.ChecksumType}}.checksum",
    }),)
    (result,) = h.run([h.build("web", post=post)], options(tmp_path))
    assert result.ok and result.artifact is not None
    data = b"image of web"
    sha = tmp_path / "web_sha256.checksum"
    assert sha.read_text() == f"{hashlib.sha256(data).hexdigest()}  web.img\n"
    md5 = tmp_path / "web_md5.checksum"
    assert md5.read_text() == f"{hashlib.md5(data).hexdigest()}  web.img\n"
    assert result.artifact.files[1:] == [sha, md5]


def test_manifest_entry_and_append(tmp_path: Path) -> None:
    image = tmp_path / "img.tar.zst"
    image.write_bytes(b"x" * 10)
    art = Artifact("local", str(image), "desc", files=[image, tmp_path / "missing"],
                   checksum="ab" * 32, extra={"region": "ap-guangzhou", "name": "not-replaced"})
    entry = manifest_entry("web", art, "run-1")
    assert entry["files"] == [{"name": str(image), "size": 10}], "missing files are left out"
    assert entry["checksum"] == "sha256:" + "ab" * 32
    assert entry["region"] == "ap-guangzhou" and entry["name"] == "web"

    path = tmp_path / "deep/dir/manifest.json"
    append_to_manifest(path, entry, "run-1")
    append_to_manifest(path, {**entry, "packer_run_uuid": "run-2"}, "run-2")
    doc = json.loads(path.read_text())
    assert [b["packer_run_uuid"] for b in doc["builds"]] == ["run-1", "run-2"]
    assert doc["last_run_uuid"] == "run-2"
    assert list(path.parent.iterdir()) == [path], "no temporary file left"


def test_manifest_appends_from_several_processes_lose_nothing(tmp_path: Path) -> None:
    """Several bake processes may share an output directory and so one manifest."""
    path = tmp_path / "manifest.json"
    script = (
        "import sys; from pathlib import Path\n"
        "from bakeansible.artifacts.manifest import append_to_manifest\n"
        "for i in range(25):\n"
        "    append_to_manifest(Path(sys.argv[1]), {'name': f'{sys.argv[2]}-{i}'}, sys.argv[2])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), f"p{n}"], cwd=REPO)
        for n in range(4)
    ]
    assert [p.wait(60) for p in procs] == [0] * 4
    doc = json.loads(path.read_text())
    assert sorted(b["name"] for b in doc["builds"]) == sorted(
        f"p{n}-{i}" for n in range(4) for i in range(25)
    )
    assert doc["last_run_uuid"] in {f"p{n}" for n in range(4)}


@pytest.mark.parametrize(
    ("keep_image", "exists", "test_result", "kept"),
    [
        ("test 'v' failed and its on_test_failure is keep", True, "failed", True),
        ("test 'v' failed and its on_test_failure is keep", False, "failed", False),  # gone
        ("", True, "failed", False),  # -on-error=abort left it: bake cleanup removes it
        ("", True, None, False),
    ],
)
def test_the_kept_image_is_the_one_the_image_step_kept(
    tmp_path: Path, keep_image: str, exists: bool, test_result: str | None, kept: bool
) -> None:
    """One field decides both: the image step's cleanup keeps the image when
    ``ctx.keep_image`` is set, and the build records (and reports) exactly that image."""
    image = tmp_path / "web.tar.zst"
    if exists:
        image.write_bytes(b"image")
    ctx = BuildContext("b" * 32, "web", "local", keep_image=keep_image)
    ctx.artifact = Artifact("local", str(image), "image", files=[image],
                            extra={"test_result": test_result} if test_result else {})  # fmt: skip
    assert (kept_image(ctx) is ctx.artifact) == kept
    assert kept_image(BuildContext("b" * 32, "web", "local", keep_image=keep_image)) is None
