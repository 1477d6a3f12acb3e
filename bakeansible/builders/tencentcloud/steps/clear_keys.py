"""Remove ~/.ssh/authorized_keys from the instance before imaging (``ssh_clear_authorized_keys``).

The temporary key pair is detached by the API anyway; this also covers a user's own key
(``ssh_private_key_file``) that must not ship in the image.
"""

from __future__ import annotations

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.errors import StepError
from bakeansible.pipeline.step import Step

COMMAND = (
    "rm -f ~/.ssh/authorized_keys; sudo -n rm -f /root/.ssh/authorized_keys 2>/dev/null || true"
)


class StepClearAuthorizedKeys(Step[TencentContext]):
    """Reads ``ctx.comm`` (the SSH connection); writes nothing."""

    title = "Trying to remove SSH authorized keys from the instance..."

    def run(self, ctx: TencentContext) -> None:
        comm = ctx.comm
        if comm is None:
            raise StepError("No SSH connection to clear the authorized keys over.")
        status = comm.run(COMMAND, on_line=ctx.ui.message, cancel=lambda: ctx.cancelled)
        if status != 0:
            raise StepError(f"Removing ~/.ssh/authorized_keys exited with {status}.")
        ctx.ui.message("Authorized keys removed")
