"""The network of the temporary instance: an existing VPC, or a new tagged one."""

from __future__ import annotations

from functools import partial

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_vpc
from bakeansible.builders.tencentcloud.steps.common import (
    cleaning,
    create,
    delete_or_report,
    delete_when_released,
)
from bakeansible.errors import StepError
from bakeansible.pipeline.step import Outcome, Step

DEFAULT_VPC_CIDR = "10.0.0.0/16"


class StepConfigVpc(Step[TencentContext]):
    """Writes ``ctx.vpc_id`` and ``ctx.vpc_cidr``; deletes the VPC at cleanup only if it made it."""

    def __init__(self, vpc_id: str, name: str, cidr_block: str) -> None:
        self.vpc_id = vpc_id
        self.name = name
        self.cidr_block = cidr_block or DEFAULT_VPC_CIDR
        self.title = (
            f"Trying to check vpc: {vpc_id}..." if vpc_id else "Trying to create a new vpc..."
        )
        self._rid: int | None = None
        self._created = ""

    def run(self, ctx: TencentContext) -> None:
        if self.vpc_id:
            resp = ctx.api.vpc("DescribeVpcs", {"VpcIds": [self.vpc_id]})
            if not resp.VpcSet:
                raise StepError(f"VPC {self.vpc_id} not found in {ctx.region}.")
            ctx.vpc_id, ctx.vpc_cidr = self.vpc_id, resp.VpcSet[0].CidrBlock
            ctx.ui.message(f"Vpc found: {resp.VpcSet[0].VpcName}")
            return
        self._rid = ctx.record_intent("tencent.vpc", **ctx.journal_data(name=self.name))
        resp = create(
            ctx,
            [self._rid],
            "vpc",
            "CreateVpc",
            {"VpcName": self.name, "CidrBlock": self.cidr_block, "Tags": ctx.tag_list()},
        )
        self._created = ctx.vpc_id = resp.Vpc.VpcId
        ctx.vpc_cidr = self.cidr_block
        ctx.record_created(self._rid, ctx.vpc_id)
        ctx.ui.message(f"Vpc created: {ctx.vpc_id}")

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        if not self._created:
            return
        ctx.ui.say(cleaning("vpc", outcome))
        vpc_id = self._created
        remove = partial(delete_vpc, ctx.api, vpc_id)
        delete = (
            partial(remove, retry=False)
            if ctx.network_left  # a subnet or group is left: the VPC cannot go, don't wait
            else partial(delete_when_released, ctx, "vpc", vpc_id, remove)
        )
        if delete_or_report(ctx, "vpc", vpc_id, self._rid, delete):
            self._created = ""
