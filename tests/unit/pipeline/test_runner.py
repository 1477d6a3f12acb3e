"""The runner with recording fake steps: run order, reverse cleanup order, outcomes, on-error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bakeansible.errors import BakeError, BuildCancelled, StepError
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.runner import Choice, OnError, run_cleanups, run_steps
from bakeansible.pipeline.step import Outcome, Step
from bakeansible.ui import RecordingUi


class Recorder:
    """What the fake steps did, in order: ``("run", "a")``, ``("cleanup", "a", outcome)``."""

    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def runs(self) -> list[str]:
        return [str(e[1]) for e in self.events if e[0] == "run"]

    def cleanups(self) -> list[str]:
        return [str(e[1]) for e in self.events if e[0] == "cleanup"]

    def outcomes(self) -> set[object]:
        return {e[2] for e in self.events if e[0] == "cleanup"}


class FakeStep(Step[BuildContext]):
    """Records its run and cleanup; can fail, fail a number of times, or wait to be cancelled."""

    def __init__(
        self,
        name: str,
        rec: Recorder,
        *,
        error: BaseException | None = None,
        fail_times: int = 0,
        wait_for_cancel: bool = False,
        cleanup_error: Exception | None = None,
        journal_kind: str | None = None,
    ) -> None:
        self.name = name
        self.rec = rec
        self.title = f"Step {name}..."
        self.error = error
        self.fail_times = fail_times
        self.wait_for_cancel = wait_for_cancel
        self.cleanup_error = cleanup_error
        self.journal_kind = journal_kind

    def run(self, ctx: BuildContext) -> None:
        self.rec.events.append(("run", self.name))
        if self.journal_kind:
            rid = ctx.record_intent(self.journal_kind, path=f"/tmp/{self.name}")
            ctx.record_created(rid, f"{self.name}-id")
        if self.fail_times:
            self.fail_times -= 1
            raise StepError(f"{self.name} failed (transient)")
        if self.wait_for_cancel:
            ctx.sleep(30)
        if self.error is not None:
            raise self.error

    def cleanup(self, ctx: BuildContext, outcome: Outcome) -> None:
        self.rec.events.append(("cleanup", self.name, outcome))
        if self.cleanup_error is not None:
            raise self.cleanup_error


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def ctx() -> BuildContext:
    return BuildContext(build_id="b" * 32, build_name="test", builder_type="fake")


def ui_lines(ctx: BuildContext, kind: str) -> list[str]:
    assert isinstance(ctx.ui, RecordingUi)
    return [text for k, text in ctx.ui.lines if k == kind]


def test_success_runs_in_order_and_cleans_up_in_reverse(rec: Recorder, ctx: BuildContext) -> None:
    steps = [FakeStep(n, rec) for n in "abc"]
    run_steps(steps, ctx)
    assert rec.runs() == ["a", "b", "c"]
    assert rec.cleanups() == ["c", "b", "a"]
    assert rec.outcomes() == {Outcome.SUCCESS}
    assert ui_lines(ctx, "say") == ["Step a...", "Step b...", "Step c..."]


def test_failure_cleans_up_entered_steps_and_reraises(rec: Recorder, ctx: BuildContext) -> None:
    boom = StepError("b broke")
    steps = [FakeStep("a", rec), FakeStep("b", rec, error=boom), FakeStep("c", rec)]
    with pytest.raises(StepError) as raised:
        run_steps(steps, ctx)
    assert raised.value is boom
    assert rec.runs() == ["a", "b"]
    # The failing step's own cleanup runs too: it may have created something halfway.
    assert rec.cleanups() == ["b", "a"]
    assert rec.outcomes() == {Outcome.FAILED}


def test_unexpected_exception_becomes_step_error_naming_the_step(
    rec: Recorder, ctx: BuildContext
) -> None:
    steps = [FakeStep("a", rec), FakeStep("b", rec, error=ValueError("bad value"))]
    with pytest.raises(StepError, match=r"^Step b failed: ValueError: bad value$") as raised:
        run_steps(steps, ctx)
    assert isinstance(raised.value.__cause__, ValueError)
    assert rec.cleanups() == ["b", "a"]
    assert rec.outcomes() == {Outcome.FAILED}


def test_cancel_during_step_cleans_up_with_cancelled(rec: Recorder, ctx: BuildContext) -> None:
    steps = [FakeStep("a", rec), FakeStep("b", rec, wait_for_cancel=True), FakeStep("c", rec)]
    threading.Timer(0.1, ctx.cancel_event.set).start()
    started = time.monotonic()
    with pytest.raises(BuildCancelled):
        run_steps(steps, ctx)
    assert time.monotonic() - started < 5, "ctx.sleep must wake up on cancel"
    assert rec.runs() == ["a", "b"]
    assert rec.cleanups() == ["b", "a"]
    assert rec.outcomes() == {Outcome.CANCELLED}


def test_cancel_between_steps_stops_before_the_next(rec: Recorder, ctx: BuildContext) -> None:
    class CancelAfter(FakeStep):
        def run(self, ctx: BuildContext) -> None:
            super().run(ctx)
            ctx.cancel_event.set()

    steps = [FakeStep("a", rec), CancelAfter("b", rec), FakeStep("c", rec)]
    with pytest.raises(BuildCancelled):
        run_steps(steps, ctx)
    assert rec.runs() == ["a", "b"]
    assert rec.cleanups() == ["b", "a"]
    assert rec.outcomes() == {Outcome.CANCELLED}


def test_keyboard_interrupt_in_step_is_a_cancellation(rec: Recorder, ctx: BuildContext) -> None:
    steps = [FakeStep("a", rec), FakeStep("b", rec, error=KeyboardInterrupt())]
    with pytest.raises(BuildCancelled):
        run_steps(steps, ctx)
    assert rec.cleanups() == ["b", "a"]
    assert rec.outcomes() == {Outcome.CANCELLED}


def test_already_cancelled_runs_nothing(rec: Recorder, ctx: BuildContext) -> None:
    ctx.cancel_event.set()
    with pytest.raises(BuildCancelled):
        run_steps([FakeStep("a", rec)], ctx)
    assert rec.events == []


def test_failing_cleanup_does_not_stop_the_others(rec: Recorder, ctx: BuildContext) -> None:
    steps = [
        FakeStep("a", rec),
        FakeStep("b", rec, cleanup_error=OSError("disk on fire")),
        FakeStep("c", rec),
    ]
    run_steps(steps, ctx)
    assert rec.cleanups() == ["c", "b", "a"]
    assert ui_lines(ctx, "error") == ["Cleanup of step 'Step b' failed: disk on fire"]


def test_failing_cleanup_after_failure_keeps_the_step_error(
    rec: Recorder, ctx: BuildContext
) -> None:
    steps = [
        FakeStep("a", rec, cleanup_error=RuntimeError("cannot delete a")),
        FakeStep("b", rec, error=StepError("b broke")),
    ]
    with pytest.raises(StepError, match="b broke"):
        run_steps(steps, ctx)
    assert rec.cleanups() == ["b", "a"]
    assert "Cleanup of step 'Step a' failed: cannot delete a" in ui_lines(ctx, "error")


def test_run_cleanups_alone_reverses_and_passes_outcome(rec: Recorder, ctx: BuildContext) -> None:
    run_cleanups([FakeStep(n, rec) for n in "xyz"], ctx, Outcome.CANCELLED)
    assert rec.cleanups() == ["z", "y", "x"]
    assert rec.outcomes() == {Outcome.CANCELLED}


def test_abort_keeps_everything_and_reports_journaled_resources(
    rec: Recorder, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    ctx = BuildContext(build_id="abc123", build_name="web", builder_type="fake", journal=journal)
    journal.start_build(ctx.build_id, ctx.build_name, ctx.builder_type)
    steps = [
        FakeStep("a", rec, journal_kind="local.directory"),
        FakeStep("b", rec, journal_kind="local.container", error=StepError("b broke")),
        FakeStep("c", rec),
    ]
    with pytest.raises(StepError, match="b broke"):
        run_steps(steps, ctx, OnError.ABORT)
    assert rec.runs() == ["a", "b"]
    assert rec.cleanups() == []
    errors = ui_lines(ctx, "error")
    assert errors[0] == "Aborting without cleanup (-on-error=abort); these resources were kept:"
    # Newest first, the order `bake cleanup` deletes them in.
    assert errors[1:3] == [
        "  local.container: b-id (created)",
        "  local.directory: a-id (created)",
    ]
    assert errors[-1] == "Remove them with: bake cleanup --build abc123"
    assert len(journal.open_resources("abc123")) == 2
    assert ctx.kept, "the build knows it kept its resources"


def test_abort_still_cleans_up_on_cancel(rec: Recorder, ctx: BuildContext) -> None:
    """-on-error=abort is about failures; Ctrl-C still means "stop and remove everything"."""
    steps = [FakeStep("a", rec), FakeStep("b", rec, wait_for_cancel=True)]
    threading.Timer(0.05, ctx.cancel_event.set).start()
    with pytest.raises(BuildCancelled):
        run_steps(steps, ctx, OnError.ABORT)
    assert rec.cleanups() == ["b", "a"]
    assert rec.outcomes() == {Outcome.CANCELLED}


def test_ask_retry_then_success(rec: Recorder, ctx: BuildContext) -> None:
    asked: list[tuple[str, str]] = []

    def ask(step: Step[BuildContext], error: BakeError) -> Choice:
        asked.append((step.title, str(error)))
        return Choice.RETRY

    steps = [FakeStep("a", rec), FakeStep("b", rec, fail_times=2), FakeStep("c", rec)]
    run_steps(steps, ctx, OnError.ASK, ask=ask)
    assert rec.runs() == ["a", "b", "b", "b", "c"]
    assert asked == [("Step b...", "b failed (transient)")] * 2
    assert rec.cleanups() == ["c", "b", "a"]
    assert rec.outcomes() == {Outcome.SUCCESS}
    assert ui_lines(ctx, "say").count("Retrying step: Step b...") == 2


def test_ask_abort_keeps_everything(rec: Recorder, ctx: BuildContext) -> None:
    steps = [FakeStep("a", rec), FakeStep("b", rec, error=StepError("b broke"))]
    with pytest.raises(StepError, match="b broke"):
        run_steps(steps, ctx, OnError.ASK, ask=lambda _s, _e: Choice.ABORT)
    assert rec.cleanups() == []
    errors = ui_lines(ctx, "error")
    assert errors[0].startswith("Aborting without cleanup")
    assert errors[-1] == f"Remove them with: bake cleanup --build {ctx.build_id}"
    assert ctx.kept


def test_ask_cleanup_cleans_up(rec: Recorder, ctx: BuildContext) -> None:
    steps = [FakeStep("a", rec), FakeStep("b", rec, error=StepError("b broke"))]
    with pytest.raises(StepError, match="b broke"):
        run_steps(steps, ctx, OnError.ASK, ask=lambda _s, _e: Choice.CLEANUP)
    assert rec.cleanups() == ["b", "a"]
    assert rec.outcomes() == {Outcome.FAILED}
    assert not ctx.kept


def test_pause_is_called_before_each_step(rec: Recorder, ctx: BuildContext) -> None:
    def pause(step: Step[BuildContext]) -> None:
        assert isinstance(step, FakeStep)
        rec.events.append(("pause", step.name))

    run_steps([FakeStep(n, rec) for n in "ab"], ctx, pause=pause)
    assert [e[:2] for e in rec.events] == [
        ("pause", "a"), ("run", "a"), ("pause", "b"), ("run", "b"),
        ("cleanup", "b"), ("cleanup", "a"),
    ]


def test_untitled_step_prints_no_header(rec: Recorder, ctx: BuildContext) -> None:
    quiet = FakeStep("q", rec)
    quiet.title = ""
    run_steps([quiet, FakeStep("a", rec)], ctx)
    assert ui_lines(ctx, "say") == ["Step a..."]
    assert rec.cleanups() == ["a", "q"]


def test_check_mode_skips_the_steps_that_make_the_artifact(
    rec: Recorder, ctx: BuildContext
) -> None:
    image = FakeStep("image", rec)
    image.makes_artifact = True
    steps = [FakeStep("a", rec), image, FakeStep("c", rec)]
    ctx.check_mode = True
    run_steps(steps, ctx)
    assert rec.runs() == ["a", "c"]
    assert rec.cleanups() == ["c", "a"]  # a skipped step is not entered
    assert ui_lines(ctx, "say") == [
        "Step a...", "Skipping: Step image (check mode makes no image)", "Step c...",
    ]  # fmt: skip
    ctx.check_mode = False
    rec.events.clear()
    run_steps(steps, ctx)
    assert rec.runs() == ["a", "image", "c"]
