"""The test phase with a recording fake instance and fake provisioners: order, the instance's own
cleanup, test_result, on_test_failure, and the child build in the journal."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bakeansible.config.model import ProvisionerSpec, TestSpec
from bakeansible.errors import BakeError, StepError
from bakeansible.pipeline.context import Artifact, BuildContext
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.runner import Choice, OnError, run_steps
from bakeansible.pipeline.step import Outcome, Step
from bakeansible.provisioners.testphase import Check, StepTestImage, TestInstance
from bakeansible.ui import RecordingUi


class FakeProvisioner:
    """Records that it ran; fails when its spec is named ``bad...``."""

    def __init__(self, spec: ProvisionerSpec, events: list[str]) -> None:
        self.spec = spec
        self.events = events

    def describe(self) -> str:
        return f"Provisioning with {self.spec.name}"

    def provision(self, ctx: BuildContext, comm: Any, deadline: float | None) -> None:
        self.events.append(f"check {self.spec.name}")
        if self.spec.name.startswith("bad"):
            raise BakeError(f"{self.spec.name} went wrong", hint="look at it")


class FakeBoot(Step[BuildContext]):
    """Stands for the builder's instance steps: a live connection, removed at cleanup."""

    title = "Booting..."

    def __init__(self, events: list[str], fail: bool = False) -> None:
        self.events = events
        self.fail = fail

    def run(self, ctx: BuildContext) -> None:
        self.events.append("boot")
        if self.fail:
            raise StepError("the image does not boot")
        transport = SimpleNamespace(is_active=lambda: True)
        ctx.comm = SimpleNamespace(client=SimpleNamespace(get_transport=lambda: transport))  # type: ignore[assignment]

    def cleanup(self, ctx: BuildContext, outcome: Outcome) -> None:
        self.events.append(f"remove {outcome.value}")


def checks(events: list[str], *names: str, keep: str = "") -> list[Check]:
    result = []
    for name in names:
        spec = ProvisionerSpec(type="shell", config=None, name=name)
        test = TestSpec(spec, "keep" if name == keep else "delete")
        result.append(Check(test, FakeProvisioner(spec, events)))  # type: ignore[arg-type]
    return result


def run_phase(
    tmp_path: Path,
    found: list[Check],
    events: list[str],
    boot_fails: bool = False,
    on_error: OnError = OnError.CLEANUP,
) -> tuple[BuildContext, Journal, BakeError | None]:
    journal = Journal(tmp_path / "journal.sqlite")
    ctx = BuildContext("b" * 32, "web", "local", ui=RecordingUi(), journal=journal)
    ctx.on_error = on_error  # as the runner of the build's steps sets it
    ctx.artifact = Artifact("local", "out/web.tar.zst", "image")
    child = BuildContext("c" * 32, "web-test", "local", ui=ctx.ui, journal=journal)

    def instance(_ctx: BuildContext) -> TestInstance:
        return TestInstance(child, [FakeBoot(events, boot_fails)], lambda: events.append("release"))

    try:
        StepTestImage(found, 5.0, instance).run(ctx)
    except BakeError as exc:
        return ctx, journal, exc
    return ctx, journal, None


def test_passing_tests(tmp_path: Path) -> None:
    events: list[str] = []
    ctx, journal, error = run_phase(tmp_path, checks(events, "one", "two"), events)
    assert error is None
    assert events == ["boot", "check one", "check two", "remove success", "release"]
    assert ctx.artifact is not None and ctx.artifact.extra["test_result"] == "passed"
    assert not ctx.keep_image
    record = journal.build("c" * 32)
    assert record is not None and (record.name, record.state) == ("web-test", "succeeded")


@pytest.mark.parametrize("keep", ["", "bad two"])
def test_failing_test_deletes_or_keeps(tmp_path: Path, keep: str) -> None:
    events: list[str] = []
    found = checks(events, "one", "bad two", "three", keep=keep)
    ctx, journal, error = run_phase(tmp_path, found, events)
    assert events == ["boot", "check one", "check bad two", "remove failed", "release"]
    assert isinstance(error, StepError)
    fate = "kept (on_test_failure: keep)" if keep else "deleted (on_test_failure: delete)"
    assert error.message == (
        "Test 'bad two' failed on a fresh instance of the new image: bad two went wrong; "
        f"the image out/web.tar.zst is {fate}"
    )
    assert error.hint == "look at it"
    assert ctx.artifact is not None and ctx.artifact.extra["test_result"] == "failed"
    assert ctx.keep_image == (
        "test 'bad two' failed and its on_test_failure is keep" if keep else ""
    )
    record = journal.build("c" * 32)
    assert record is not None and record.state == "failed"


def test_instance_that_does_not_boot_fails_the_first_test(tmp_path: Path) -> None:
    events: list[str] = []
    ctx, _, error = run_phase(tmp_path, checks(events, "one", keep="one"), events, True)
    assert events == ["boot", "remove failed", "release"]
    assert error is not None and "the image does not boot" in error.message
    assert ctx.keep_image  # the first test's on_test_failure decides


def test_abort_keeps_the_failed_tests_instance(tmp_path: Path) -> None:
    """-on-error=abort: no cleanup, no release (the instance runs on it), the child build is
    aborted with its resources, and the report names its build id."""
    events: list[str] = []
    ctx, journal, error = run_phase(tmp_path, checks(events, "bad one"), events,
                                    on_error=OnError.ABORT)  # fmt: skip
    assert events == ["boot", "check bad one"]
    assert error is not None and error.message.endswith(
        "the image out/web.tar.zst is kept with the build (-on-error=abort)"
    )
    record = journal.build("c" * 32)
    assert record is not None and record.state == "aborted"
    assert isinstance(ctx.ui, RecordingUi)
    assert f"Remove them with: bake cleanup --build {'c' * 32}" in ctx.ui.text()


def test_the_runner_hands_its_policy_to_the_test_phase(tmp_path: Path) -> None:
    """The answer abort to the -on-error=ask prompt about the failed test keeps the instance."""
    events: list[str] = []
    journal = Journal(tmp_path / "journal.sqlite")
    ctx = BuildContext("b" * 32, "web", "local", ui=RecordingUi(), journal=journal)
    ctx.artifact = Artifact("local", "out/web.tar.zst", "image")
    child = BuildContext("c" * 32, "web-test", "local", ui=ctx.ui, journal=journal)
    asked: list[str] = []

    def ask(step: Step[Any], error: BakeError) -> Choice:
        asked.append(error.message)
        return Choice.ABORT

    step = StepTestImage(checks(events, "bad one"), 5.0,
                         lambda _ctx: TestInstance(child, [FakeBoot(events)]))  # fmt: skip
    with pytest.raises(BakeError):
        run_steps([step], ctx, OnError.ASK, ask)
    assert asked[0] == "bad one went wrong" and len(asked) == 2  # the test, then the build
    assert events == ["boot", "check bad one"] and child.kept
    record = journal.build("c" * 32)
    assert record is not None and record.state == "aborted"
