"""Helpers shared by the steps: cleanup wording and never-raising deletion."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bakeansible.builders.tencentcloud.client import CallCancelled, TencentApiError
from bakeansible.builders.tencentcloud.context import TencentContext
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
