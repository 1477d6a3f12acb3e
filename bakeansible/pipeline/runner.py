"""Runs a build's steps in order and its cleanups in reverse (Packer's multistep, in Python)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from bakeansible.errors import BakeError, BuildCancelled, StepError
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.onerror import AskCallback, Choice, OnError
from bakeansible.pipeline.step import Outcome, Step

__all__ = ["AskCallback", "Choice", "OnError", "PauseCallback", "run_cleanups", "run_steps"]

log = logging.getLogger(__name__)


PauseCallback = Callable[[Step[Any]], None]


def _as_bake_error(step: Step[Any], exc: Exception) -> BakeError:
    if isinstance(exc, BakeError):
        return exc
    log.debug("step %s raised", type(step).__name__, exc_info=exc)
    return StepError(f"{step.title.rstrip('.')} failed: {type(exc).__name__}: {exc}")


def run_steps(
    steps: Sequence[Step[Any]],
    ctx: BuildContext,
    on_error: OnError = OnError.CLEANUP,
    ask: AskCallback | None = None,
    pause: PauseCallback | None = None,
) -> None:
    """Run ``steps``; on success, failure or cancellation run the cleanups of those entered.

    Raises the step's error (a ``BakeError``) or ``BuildCancelled``. With ``OnError.ABORT`` (or the
    ask answer "abort") no cleanup runs and ``ctx`` keeps everything for debugging. ``ctx`` learns
    the policy (``ctx.on_error``, ``ctx.ask``), for steps that run steps of their own.
    """
    ctx.on_error, ctx.ask = on_error, ask
    entered: list[Step[Any]] = []
    try:
        for step in steps:
            ctx.check_cancelled()
            if step.makes_artifact and ctx.check_mode:
                if step.title:
                    ctx.ui.say(f"Skipping: {step.title.rstrip('.')} (check mode makes no image)")
                continue
            if pause is not None:
                pause(step)
            if step.title:
                ctx.ui.say(step.title)
            entered.append(step)
            while True:
                try:
                    step.run(ctx)
                    break
                except BuildCancelled:
                    raise
                except KeyboardInterrupt as exc:
                    raise BuildCancelled("interrupted") from exc
                except Exception as exc:
                    error = _as_bake_error(step, exc)
                    if on_error is OnError.ASK and ask is not None:
                        choice = ask(step, error)
                        if choice is Choice.RETRY:
                            ctx.ui.say(f"Retrying step: {step.title}")
                            continue
                        if choice is Choice.ABORT:
                            raise _Abort(error) from exc
                    raise error from exc
    except _Abort as aborted:
        _report_kept(ctx)
        raise aborted.error from None
    except BaseException as exc:
        cancelled = isinstance(exc, BuildCancelled | KeyboardInterrupt)
        if on_error is OnError.ABORT and not cancelled:
            _report_kept(ctx)
        else:
            outcome = Outcome.CANCELLED if cancelled else Outcome.FAILED
            run_cleanups(entered, ctx, outcome)
        raise
    run_cleanups(entered, ctx, Outcome.SUCCESS)


class _Abort(Exception):
    def __init__(self, error: BakeError) -> None:
        super().__init__(str(error))
        self.error = error


def run_cleanups(entered: Sequence[Step[Any]], ctx: BuildContext, outcome: Outcome) -> None:
    """Run the cleanups of the entered steps, last first; one failing does not stop the rest."""
    for step in reversed(entered):
        try:
            step.cleanup(ctx, outcome)
        except Exception as exc:  # cleanup must go on: report and continue
            log.debug("cleanup of %s raised", type(step).__name__, exc_info=exc)
            ctx.ui.error(f"Cleanup of step '{step.title.rstrip('.')}' failed: {exc}")


def _report_kept(ctx: BuildContext) -> None:
    """-on-error=abort: tell the user what was kept and how to remove it."""
    ctx.kept = True
    ctx.ui.error("Aborting without cleanup (-on-error=abort); these resources were kept:")
    held = ctx.journal.open_resources(ctx.build_id) if ctx.journal is not None else []
    for res in held:
        ctx.ui.error(f"  {res.kind}: {res.describe()}")
    if ctx.ssh is not None:
        key = f" -i {ctx.ssh.private_key_path}" if ctx.ssh.private_key_path else ""
        ctx.ui.error(
            f"Log in to inspect it: ssh{key} -p {ctx.ssh.port} -o StrictHostKeyChecking=no "
            f"{ctx.ssh.user}@{ctx.ssh.host}"
        )
    ctx.ui.error(f"Remove them with: bake cleanup --build {ctx.build_id}")
