"""The default VPC and per-zone default subnets, created on first use like the real account's.

They are not counted as leaked resources (``IsDefault`` is true).
"""

from __future__ import annotations

from bakeansible.testing.tcloud.catalog import zones
from bakeansible.testing.tcloud.state import RegionState, Subnet, Vpc, new_id

DEFAULT_VPC_CIDR = "172.16.0.0/16"


def default_network(region: RegionState, zone: str) -> tuple[Vpc, Subnet]:
    """The default VPC of ``region`` and its default subnet in ``zone``."""
    vpc = next((v for v in region.vpcs.values() if v.is_default), None)
    if vpc is None:
        vpc = Vpc(new_id("vpc"), "Default-VPC", DEFAULT_VPC_CIDR, [], is_default=True)
        region.vpcs[vpc.id] = vpc
    for subnet in region.subnets.values():
        if subnet.is_default and subnet.vpc_id == vpc.id and subnet.zone == zone:
            return vpc, subnet
    index = [z["Zone"] for z in zones(region.name)].index(zone)
    subnet = Subnet(
        new_id("subnet"),
        "Default-Subnet",
        vpc.id,
        f"172.16.{index * 16}.0/20",
        zone,
        [],
        is_default=True,
    )
    region.subnets[subnet.id] = subnet
    return vpc, subnet
