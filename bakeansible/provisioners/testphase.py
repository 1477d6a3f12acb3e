"""The test phase: boot a fresh instance from the image the build just made, run the build's
tests against it (Ansible verify playbooks, shell checks: provisioners), and remove it.

The builder says how an instance of its image comes up (``TestInstance``: a child context and
the builder's own steps). Those steps run with their own cleanup stack, which has run by the
time the phase returns, so the test instance never outlives it, unless the build runs with
-on-error=abort (or the ask answer is abort): then a failed test keeps it to inspect. A failed
test fails the build; the failing test's ``on_test_failure`` says whether the image goes (the
image step's cleanup deletes it, as after any failure) or stays (``ctx.keep_image`` tells that
cleanup why). ``artifact.extra["test_result"]`` records ``passed`` or ``failed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakeansible.config.model import TestSpec
from bakeansible.errors import BakeError, BuildCancelled, StepError
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.onerror import AskCallback, OnError
from bakeansible.pipeline.protocols import Provisioner
from bakeansible.pipeline.runner import run_steps
from bakeansible.pipeline.step import Step
from bakeansible.provisioners.run import StepProvision
from bakeansible.registry import provisioner_class

log = logging.getLogger(__name__)


@dataclass
class Check:
    """One test of a build, ready to run: its spec and its provisioner."""

    spec: TestSpec
    provisioner: Provisioner

    @property
    def label(self) -> str:
        prov = self.spec.provisioner
        if prov.name:
            return prov.name
        playbook = getattr(prov.config, "playbook_file", "")
        return f"{prov.type} {playbook}" if playbook else prov.type


def make_checks(specs: Sequence[TestSpec], project_dir: Path) -> list[Check]:
    """Instantiate the tests' provisioners (no side effect)."""
    return [
        Check(spec, provisioner_class(spec.provisioner.type)(spec.provisioner, project_dir))
        for spec in specs
    ]


@dataclass
class TestInstance:
    """How a builder brings up a fresh instance of an image: a context of its own and the steps
    (the builder's) that boot it, up to a live SSH connection on ``context.comm``.

    ``release`` runs once the steps' cleanups have (e.g. to drop an extracted image); when
    ``context`` has a build id of its own, the phase journals it as a build of its own, so
    ``bake cleanup`` finds what it holds after a crash.
    """

    __test__ = False  # not a pytest test class

    context: BuildContext
    steps: list[Step[Any]]
    release: Callable[[], None] = field(default=lambda: None)


@dataclass
class TestOutcome:
    """How the tests went: ``failed`` is the failing check (None when all passed)."""

    __test__ = False  # not a pytest test class

    error: BakeError | None = None
    failed: Check | None = None

    @property
    def passed(self) -> bool:
        return self.error is None


class StepRunChecks(Step[BuildContext]):
    """Runs each check in order on ``ctx.comm``, with the provisioners' controls (timeout,
    max_retries, pause_before); ``current`` is the check running (or that failed)."""

    title = ""

    def __init__(self, checks: Sequence[Check], ssh_timeout: float) -> None:
        self.checks = list(checks)
        self.ssh_timeout = ssh_timeout
        self.current: Check | None = None

    def run(self, ctx: BuildContext) -> None:
        for i, check in enumerate(self.checks, 1):
            self.current = check
            ctx.ui.say(f"Test {i}/{len(self.checks)}: {check.label}")
            StepProvision([check.provisioner], self.ssh_timeout).run(ctx)
        self.current = None


def run_checks(
    instance: TestInstance,
    checks: Sequence[Check],
    ssh_timeout: float,
    on_error: OnError = OnError.CLEANUP,
    ask: AskCallback | None = None,
) -> TestOutcome:
    """Boot ``instance``, run ``checks`` on it, remove it. Raises only ``BuildCancelled``;
    a boot failure counts as a failure of the first check.

    ``on_error`` and ``ask`` are the build's: with abort (or the answer abort) a failed test
    keeps the instance, journaled (as ``aborted``) until ``bake cleanup --build``, and the
    runner's report says how to log in to it and how to remove it."""
    child = instance.context
    own_build = child.journal is not None and not child.journal.build(child.build_id)
    if own_build and child.journal is not None:
        child.journal.start_build(child.build_id, child.build_name, child.builder_type)
    runner = StepRunChecks(checks, ssh_timeout)
    state = "failed"
    try:
        run_steps([*instance.steps, runner], child, on_error, ask)
        state = "succeeded"
        return TestOutcome()
    except BuildCancelled:
        state = "cancelled"
        raise
    except BakeError as exc:
        state = "aborted" if child.kept else "failed"
        return TestOutcome(exc, runner.current or checks[0])
    finally:
        if own_build:
            child.remove_temp_dir()
        try:
            if not child.kept:  # a kept instance still runs on what release would remove
                instance.release()
        except Exception as exc:  # never hide the test's own result behind a cleanup problem
            log.debug("release of the test instance raised", exc_info=exc)
            child.ui.error(f"Could not release what the test instance used: {exc}")
        if own_build and child.journal is not None:
            child.journal.finish_build(child.build_id, state)


class StepTestImage(Step[BuildContext]):
    """Tests the new image (``ctx.artifact``) on a fresh instance made by ``instance(ctx)``.

    Writes ``ctx.artifact.extra["test_result"]``; on failure, sets ``ctx.keep_image`` when the
    failing test says ``on_test_failure: keep``, and raises. No cleanup of its own: the test
    instance is gone when ``run`` returns (kept, with the build's ``ctx.on_error`` abort).
    """

    title = "Testing the new image on a fresh instance..."

    def __init__(
        self,
        checks: Sequence[Check],
        ssh_timeout: float,
        instance: Callable[[Any], TestInstance],
    ) -> None:
        self.checks = list(checks)
        self.ssh_timeout = ssh_timeout
        self.instance = instance

    def run(self, ctx: BuildContext) -> None:
        artifact = ctx.artifact
        assert artifact is not None, "the test phase runs after the image step"
        outcome = run_checks(
            self.instance(ctx), self.checks, self.ssh_timeout, ctx.on_error, ctx.ask
        )
        if outcome.passed:
            artifact.extra["test_result"] = "passed"
            ctx.ui.say(f"Tests passed on a fresh instance of {artifact.artifact_id}.")
            return
        artifact.extra["test_result"] = "failed"
        assert outcome.error is not None and outcome.failed is not None
        check = outcome.failed
        if check.spec.keep_image:
            ctx.keep_image = f"test '{check.label}' failed and its on_test_failure is keep"
            fate = f"the image {artifact.artifact_id} is kept (on_test_failure: keep)"
        elif ctx.on_error is OnError.ABORT:  # no cleanup runs: the image stays with the rest
            fate = f"the image {artifact.artifact_id} is kept with the build (-on-error=abort)"
        else:
            fate = f"the image {artifact.artifact_id} is deleted (on_test_failure: delete)"
        ctx.ui.error(f"Test '{check.label}' failed; {fate}.")
        raise StepError(
            f"Test '{check.label}' failed on a fresh instance of the new image: "
            f"{outcome.error.message}; {fate}",
            hint=outcome.error.hint
            or "Fix the build or the test; on_test_failure: keep keeps a failing image to "
            "inspect (a local one: bake test IMAGE.tar.zst --playbook VERIFY.yml).",
        )
