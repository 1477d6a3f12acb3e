"""Helpers shared by the steps: cleanup wording and never-raising deletion."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bakeansible.builders.tencentcloud.client import CallCancelled, TencentApiError, is_retryable
from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.waiters import learned, poll
from bakeansible.pipeline.step import Outcome

log = logging.getLogger(__name__)

_WHY = {
    Outcome.SUCCESS: "",
    Outcome.FAILED: " because the build failed",
    Outcome.CANCELLED: " because of cancellation",
}


def cleaning(what: str, outcome: Outcome) -> str:
    """``Cleaning up vpc...`` / ``Cleaning up vpc because of cancellation...``."""
    return f"Cleaning up {what}{_WHY[outcome]}..."


def delete_or_report(
    ctx: TencentContext, what: str, ident: str, rid: int | None, delete: Callable[[], None]
) -> bool:
    """Run ``delete``; mark the journal entry gone, or tell the user what is left. Never raises."""
    try:
        delete()
    except Exception as exc:
        log.debug("deleting %s %s failed", what, ident, exc_info=exc)
        ctx.ui.error(
            f"Failed to delete {what} {ident}: {exc}. Delete it manually, or run "
            f"'bake cleanup' (build {ctx.build_id})."
        )
        return False
    ctx.record_gone(rid)
    return True


def create(
    ctx: TencentContext, rids: list[int | None], service: str, action: str, params: dict[str, Any]
) -> Any:
    """Send a create call journaled as ``rids``; a definite refusal means nothing was created.

    When every attempt was answered with an error, or the build was cancelled before the call
    was sent, the intent entries are closed; when some attempt got no answer, they stay open so
    that cleanup finds the resource by name and tags.
    """
    try:
        return ctx.api.call(service, action, params)
    except (TencentApiError, CallCancelled) as exc:
        if not exc.uncertain:
            for rid in rids:
                ctx.record_gone(rid)
        raise


#: How long a deletion waits for a terminated instance to release what it used.
RELEASE_WAIT = 300.0


def delete_when_released(
    ctx: TencentContext, what: str, ident: str, delete: Callable[..., None]
) -> None:
    """Delete something the build's instance used (``delete(retry=…)``), once it is released.

    After TerminateInstances the cloud keeps the instance's security group, subnet, VPC (and
    key pair, if still bound) in use for a while. Rather than each delete retrying through
    ResourceInUse on the client's retry policy, the first one polls on the learned ``release``
    schedule, counted from the termination; the deletes after it then succeed at once.
    """
    if ctx.terminated_at is None or ctx.instance_left:
        delete(retry=not ctx.instance_left)
        return

    def probe() -> tuple[bool | None, str]:
        try:
            delete(retry=False)
        except TencentApiError as exc:
            if is_retryable(exc.code, exc.api_message):
                return None, "in use"
            raise
        return True, "deleted"

    poll(ctx.api, f"{what} {ident} to be released", RELEASE_WAIT, probe, cancellable=False,
         ui=ctx.ui, subject=f"{what} {ident}", learn=learned(ctx.api, "release"),
         started=ctx.terminated_at)  # fmt: skip
