"""The temporary instance's security group: created empty but for egress, SSH added later.

Which address SSH comes from is known only once the instance has its own (``StepAllowSsh``
adds that ingress policy), so the group starts with egress only: nothing gets in meanwhile.
"""

from __future__ import annotations

from functools import partial

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_security_group
from bakeansible.builders.tencentcloud.steps.common import (
    cleaning,
    create,
    delete_or_report,
    delete_when_released,
)
from bakeansible.errors import StepError
from bakeansible.pipeline.step import Outcome, Step


class StepConfigSecurityGroup(Step[TencentContext]):
    """Writes ``ctx.security_group_id``; deletes the group at cleanup only if it made it."""

    def __init__(self, group_id: str, name: str) -> None:
        self.group_id = group_id
        self.name = name
        self.title = (
            f"Trying to check securitygroup: {group_id}..." if group_id
            else "Trying to create a new securitygroup..."
        )  # fmt: skip
        self._rid: int | None = None
        self._created = ""

    def run(self, ctx: TencentContext) -> None:
        if self.group_id:
            resp = ctx.api.vpc("DescribeSecurityGroups", {"SecurityGroupIds": [self.group_id]})
            if not resp.SecurityGroupSet:
                raise StepError(f"Security group {self.group_id} not found in {ctx.region}.")
            ctx.security_group_id = self.group_id
            ctx.ui.message(f"Securitygroup found: {resp.SecurityGroupSet[0].SecurityGroupName}")
            return
        self._rid = ctx.record_intent("tencent.security_group", **ctx.journal_data(name=self.name))
        resp = create(
            ctx,
            [self._rid],
            "vpc",
            "CreateSecurityGroup",
            {
                "GroupName": self.name,
                "GroupDescription": f"bake build {ctx.build_id}: SSH from the build host",
                "Tags": ctx.tag_list(),
            },
        )
        self._created = ctx.security_group_id = resp.SecurityGroup.SecurityGroupId
        ctx.record_created(self._rid, ctx.security_group_id)
        ctx.ui.message(f"Securitygroup created: {ctx.security_group_id}")

        egress = [{"Protocol": "ALL", "Port": "ALL", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}]
        policies = {"Egress": egress}
        ctx.api.vpc(
            "CreateSecurityGroupPolicies",
            {"SecurityGroupId": ctx.security_group_id, "SecurityGroupPolicySet": policies},
        )

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        if not self._created:
            return
        ctx.ui.say(cleaning("securitygroup", outcome))
        group_id = self._created
        remove = partial(delete_security_group, ctx.api, group_id)
        delete = partial(delete_when_released, ctx, "securitygroup", group_id, remove)
        if delete_or_report(ctx, "securitygroup", group_id, self._rid, delete):
            self._created = ""
        else:
            ctx.network_left = True
