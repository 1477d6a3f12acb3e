"""The firewall of the temporary instance: SSH in, only from the build host's address.

Packer opened every port to 0.0.0.0/0. Bake opens only the SSH port, to
``temporary_security_group_source_cidrs``, by default the address bake reaches the API from
(when that address is public, or when the API itself is local or private, as with the emulator),
or the VPC's CIDR when SSH goes over the private address. Only when neither is known does it fall
back to 0.0.0.0/0, and then it says so.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import partial

from bakeansible.builders.tencentcloud.client import split_endpoint
from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_security_group
from bakeansible.builders.tencentcloud.steps.common import cleaning, create, delete_or_report
from bakeansible.errors import StepError
from bakeansible.pipeline.step import Outcome, Step

log = logging.getLogger(__name__)

FALLBACK_CIDR = "0.0.0.0/0"
DEFAULT_API_HOST = "cvm.tencentcloudapi.com"


def local_address_towards(host: str, port: int = 443) -> str | None:
    """The source address this machine uses to reach ``host`` (no packet is sent)."""
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(infos[0][4])
            return str(sock.getsockname()[0])
    except OSError as exc:
        log.debug("cannot find the local address towards %s: %s", host, exc)
        return None


def default_source_cidrs(
    endpoint: str, over_public_ip: bool, vpc_cidr: str
) -> tuple[list[str], str | None]:
    """(CIDRs, warning or None) for the SSH rule when the user set none."""
    if not over_public_ip and vpc_cidr:
        return [vpc_cidr], None
    host = split_endpoint(endpoint)[1] if endpoint else DEFAULT_API_HOST
    hostname = host.rsplit(":", 1)[0].strip("[]") if host.count(":") == 1 else host.strip("[]")
    address = local_address_towards(hostname)
    if address:
        ip = ipaddress.ip_address(address)
        try:
            api_is_local = not ipaddress.ip_address(socket.gethostbyname(hostname)).is_global
        except OSError:
            api_is_local = False
        if ip.is_global or api_is_local:
            return [f"{address}/32"], None
    warning = (
        "Could not tell which public address this machine has (it is behind NAT or offline); "
        f"the temporary security group allows SSH from {FALLBACK_CIDR}. Set "
        "temporary_security_group_source_cidrs to restrict it."
    )
    return [FALLBACK_CIDR], warning


class StepConfigSecurityGroup(Step[TencentContext]):
    """Writes ``ctx.security_group_id``; deletes the group at cleanup only if it made it."""

    def __init__(
        self,
        group_id: str,
        name: str,
        source_cidrs: tuple[str, ...],
        ssh_port: int,
        endpoint: str,
        over_public_ip: bool,
    ) -> None:
        self.group_id = group_id
        self.name = name
        self.source_cidrs = source_cidrs
        self.ssh_port = ssh_port
        self.endpoint = endpoint
        self.over_public_ip = over_public_ip
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

        cidrs = list(self.source_cidrs)
        if not cidrs:
            cidrs, warning = default_source_cidrs(self.endpoint, self.over_public_ip, ctx.vpc_cidr)
            if warning:
                ctx.ui.error(f"Warning: {warning}")
        ctx.ui.say("Trying to create securitygroup policies...")
        ingress = [
            {
                "Protocol": "TCP",
                "Port": str(self.ssh_port),
                "CidrBlock": cidr,
                "Action": "ACCEPT",
                "PolicyDescription": "bake: SSH from the build host",
            }
            for cidr in cidrs
        ]
        egress = [{"Protocol": "ALL", "Port": "ALL", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}]
        group = ctx.security_group_id
        ctx.api.vpc(
            "CreateSecurityGroupPolicies",
            {"SecurityGroupId": group, "SecurityGroupPolicySet": {"Ingress": ingress}},
        )
        ctx.api.vpc(
            "CreateSecurityGroupPolicies",
            {"SecurityGroupId": group, "SecurityGroupPolicySet": {"Egress": egress}},
        )
        ctx.ui.message(f"Securitygroup policies created: SSH ({self.ssh_port}/tcp) from "
                       + ", ".join(cidrs))  # fmt: skip

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        if not self._created:
            return
        ctx.ui.say(cleaning("securitygroup", outcome))
        group_id = self._created
        delete = partial(delete_security_group, ctx.api, group_id, retry=not ctx.instance_left)
        if delete_or_report(ctx, "securitygroup", group_id, self._rid, delete):
            self._created = ""
        else:
            ctx.network_left = True
