"""Open SSH in the temporary security group, only from the address bake connects from.

Packer opened every port to 0.0.0.0/0. Bake opens only the SSH port, to
``temporary_security_group_source_cidrs``, by default to the address this machine connects to
the instance from, which is known only once the instance has its address: the host's own
public address when it has one, or its address on the private network (a VPN, the emulator's
veth pair) when the instance is reached at a private address, where no NAT rewrites it. Over
the private address it is the VPC's CIDR. Only when neither is known (this machine is behind
NAT) does it fall back to 0.0.0.0/0, and then it says so.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.pipeline.step import Step

log = logging.getLogger(__name__)

FALLBACK_CIDR = "0.0.0.0/0"


def _resolve(host: str, port: int) -> str | None:
    try:
        return str(socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    except (OSError, IndexError) as exc:
        log.debug("cannot resolve %s: %s", host, exc)
        return None


def local_address_towards(address: str, port: int = 22) -> str | None:
    """The source address this machine uses to reach ``address`` (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((address, port))
            return str(sock.getsockname()[0])
    except OSError as exc:
        log.debug("cannot find the local address towards %s: %s", address, exc)
        return None


def default_source_cidrs(
    ssh_host: str, ssh_port: int, over_public_ip: bool, vpc_cidr: str
) -> tuple[list[str], str | None]:
    """(CIDRs, warning or None) for the SSH rule when the user set none."""
    if not over_public_ip and vpc_cidr:
        return [vpc_cidr], None
    target = _resolve(ssh_host, ssh_port)
    source = local_address_towards(target, ssh_port) if target else None
    if target and source:
        direct = not ipaddress.ip_address(target).is_global
        if direct or ipaddress.ip_address(source).is_global:
            return [f"{source}/32"], None
    warning = (
        "Could not tell which public address this machine has (it is behind NAT or offline); "
        f"the temporary security group allows SSH from {FALLBACK_CIDR}. Set "
        "temporary_security_group_source_cidrs to restrict it."
    )
    return [FALLBACK_CIDR], warning


class StepAllowSsh(Step[TencentContext]):
    """Reads ``ctx.ssh`` and ``ctx.security_group_id`` (a group bake created); adds its one
    ingress policy, for the sources not in ``ctx.ssh_ingress_cidrs`` yet (a test instance may
    be reached from another local address than the build's), and records them there.
    No cleanup: the policy goes with the group."""

    title = "Trying to create securitygroup policies..."

    def __init__(self, source_cidrs: tuple[str, ...], over_public_ip: bool) -> None:
        self.source_cidrs = source_cidrs
        self.over_public_ip = over_public_ip

    def run(self, ctx: TencentContext) -> None:
        assert ctx.ssh is not None
        cidrs = list(self.source_cidrs)
        if not cidrs:
            cidrs, warning = default_source_cidrs(
                ctx.ssh.host, ctx.ssh.port, self.over_public_ip, ctx.vpc_cidr
            )
            if warning:
                ctx.ui.error(f"Warning: {warning}")
        cidrs = [c for c in cidrs if c not in ctx.ssh_ingress_cidrs]
        if not cidrs:
            ctx.ui.message("Securitygroup policies: SSH is already allowed from this machine")
            return
        ingress = [
            {
                "Protocol": "TCP",
                "Port": str(ctx.ssh.port),
                "CidrBlock": cidr,
                "Action": "ACCEPT",
                "PolicyDescription": "bake: SSH from the build host",
            }
            for cidr in cidrs
        ]
        policies = {"Ingress": ingress}
        ctx.api.vpc(
            "CreateSecurityGroupPolicies",
            {"SecurityGroupId": ctx.security_group_id, "SecurityGroupPolicySet": policies},
        )
        ctx.ssh_ingress_cidrs.extend(cidrs)
        ctx.ui.message(f"Securitygroup policies created: SSH ({ctx.ssh.port}/tcp) from "
                       + ", ".join(cidrs))  # fmt: skip
