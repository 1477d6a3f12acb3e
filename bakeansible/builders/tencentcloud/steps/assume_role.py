"""STS AssumeRole: the rest of the build runs with the role's temporary credentials."""

from __future__ import annotations

from bakeansible.builders.tencentcloud.client import TencentClient, assume_role
from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.pipeline.step import Step


class StepAssumeRole(Step[TencentContext]):
    """Replaces ``ctx.client`` with one using the role's credentials (masked in all output).

    Unlike Packer, the STS call goes to the configured endpoint too, and the session name comes
    from TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME (Packer assigned it to the role ARN).
    """

    def __init__(self, role_arn: str, session_name: str, duration: int) -> None:
        self.role_arn = role_arn
        self.session_name = session_name
        self.duration = duration
        self.title = f"Trying to assume role: {role_arn}..."

    def run(self, ctx: TencentContext) -> None:
        old = ctx.api
        creds = assume_role(old, self.role_arn, self.session_name, self.duration)
        ctx.masker.add(creds.secret_key)
        ctx.masker.add(creds.token)
        ctx.client = TencentClient(
            old.access, creds, policy=old.policy, cancel_event=old.cancel_event, calls=old.calls
        )
        ctx.ui.message(f"Role assumed for {self.duration}s")
