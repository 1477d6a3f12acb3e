"""Share the image with other accounts; cancel the sharing if the build fails afterwards."""

from __future__ import annotations

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.pipeline.step import Outcome, Step


class StepShareImage(Step[TencentContext]):
    """Reads ``ctx.image_id``; shares it with ``image_share_accounts``."""

    makes_artifact = True

    def __init__(self, accounts: tuple[str, ...]) -> None:
        self.accounts = list(accounts)
        self.title = "Trying to share image..." if accounts else ""
        self._shared = False

    def run(self, ctx: TencentContext) -> None:
        if not self.accounts:
            return
        ctx.api.cvm(
            "ModifyImageSharePermission",
            {"ImageId": ctx.image_id, "AccountIds": self.accounts, "Permission": "SHARE"},
        )
        self._shared = True
        ctx.ui.message(f"Image {ctx.image_id} shared with {', '.join(self.accounts)}")
        if ctx.artifact is not None:
            ctx.artifact.extra["shared_with"] = list(self.accounts)

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        if not self._shared or outcome is Outcome.SUCCESS:
            return
        ctx.ui.say("Cancelling image sharing" + (
            " because of cancellation..." if outcome is Outcome.CANCELLED
            else " because the build failed..."
        ))  # fmt: skip
        try:
            ctx.api.cvm(
                "ModifyImageSharePermission",
                {"ImageId": ctx.image_id, "AccountIds": self.accounts, "Permission": "CANCEL"},
                cancellable=False,
            )
            self._shared = False
        except Exception as exc:  # the image deletion cancels remaining shares itself
            ctx.ui.error(f"Failed to cancel sharing of {ctx.image_id}: {exc}")
