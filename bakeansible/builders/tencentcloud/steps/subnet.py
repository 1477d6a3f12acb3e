"""The subnet of the temporary instance: an existing one, or a new tagged one in the zone."""

from __future__ import annotations

from functools import partial

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_subnet
from bakeansible.builders.tencentcloud.steps.common import (
    cleaning,
    create,
    delete_or_report,
    delete_when_released,
)
from bakeansible.errors import StepError
from bakeansible.pipeline.step import Outcome, Step

DEFAULT_SUBNET_CIDR = "10.0.8.0/24"


class StepConfigSubnet(Step[TencentContext]):
    """Reads ``ctx.vpc_id``; writes ``ctx.subnet_id``; deletes the subnet only if it made it."""

    def __init__(self, subnet_id: str, name: str, cidr_block: str, zone: str) -> None:
        self.subnet_id = subnet_id
        self.name = name
        self.cidr_block = cidr_block or DEFAULT_SUBNET_CIDR
        self.zone = zone
        self.title = (
            f"Trying to check subnet: {subnet_id}..." if subnet_id
            else "Trying to create a new subnet..."
        )  # fmt: skip
        self._rid: int | None = None
        self._created = ""

    def run(self, ctx: TencentContext) -> None:
        if self.subnet_id:
            resp = ctx.api.vpc("DescribeSubnets", {"SubnetIds": [self.subnet_id]})
            if not resp.SubnetSet:
                raise StepError(f"Subnet {self.subnet_id} not found in {ctx.region}.")
            if resp.SubnetSet[0].VpcId != ctx.vpc_id:
                raise StepError(
                    f"Subnet {self.subnet_id} is in {resp.SubnetSet[0].VpcId}, not {ctx.vpc_id}."
                )
            ctx.subnet_id = self.subnet_id
            ctx.ui.message(f"Subnet found: {resp.SubnetSet[0].SubnetName}")
            return
        self._rid = ctx.record_intent(
            "tencent.subnet", **ctx.journal_data(name=self.name, vpc_id=ctx.vpc_id)
        )
        resp = create(
            ctx,
            [self._rid],
            "vpc",
            "CreateSubnet",
            {
                "VpcId": ctx.vpc_id,
                "SubnetName": self.name,
                "CidrBlock": self.cidr_block,
                "Zone": self.zone,
                "Tags": ctx.tag_list(),
            },
        )
        self._created = ctx.subnet_id = resp.Subnet.SubnetId
        ctx.record_created(self._rid, ctx.subnet_id)
        ctx.ui.message(f"Subnet created: {ctx.subnet_id}")

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        if not self._created:
            return
        ctx.ui.say(cleaning("subnet", outcome))
        subnet_id = self._created
        remove = partial(delete_subnet, ctx.api, subnet_id)
        delete = partial(delete_when_released, ctx, "subnet", subnet_id, remove)
        if delete_or_report(ctx, "subnet", subnet_id, self._rid, delete):
            self._created = ""
        else:
            ctx.network_left = True
