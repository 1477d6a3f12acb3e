"""The steps that bring up a CVM from an image, shared by builds, tests and instances.

``boot_steps`` is the part of a ``tencentcloud-cvm`` build before provisioning: the source image
checked, the login (a temporary key pair unless one is configured), a VPC, subnet and security
group (created unless given), the instance, SSH let in and connected. The builder's ``steps()``
puts its own steps around this list; ``bake instance up --source img-…`` runs it and keeps what
it made; ``bake test img-…`` boots a fresh instance of an image with it.
"""

from __future__ import annotations

from typing import Any

from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.builders.tencentcloud.steps.key_pair import StepConfigKeyPair
from bakeansible.builders.tencentcloud.steps.run_instance import StepRunInstance
from bakeansible.builders.tencentcloud.steps.security_group import StepConfigSecurityGroup
from bakeansible.builders.tencentcloud.steps.source_image import StepCheckSourceImage
from bakeansible.builders.tencentcloud.steps.ssh_ingress import StepAllowSsh
from bakeansible.builders.tencentcloud.steps.subnet import StepConfigSubnet
from bakeansible.builders.tencentcloud.steps.vpc import StepConfigVpc
from bakeansible.pipeline.step import Step
from bakeansible.provisioners.run import StepConnectSsh


def temporary_name(configured: str, build_id: str) -> str:
    """A temporary resource's name: the configured one, else ``bake_<build id prefix>``."""
    return configured or f"bake_{build_id[:8]}"


def boot_steps(c: TencentCvmConfig, build_id: str) -> list[Step[Any]]:
    """Steps that leave a ``TencentContext`` with a running instance (``ctx.instance``,
    ``ctx.ssh``) and, with communicator ssh, a live connection (``ctx.comm``); their cleanups
    remove what they created, in reverse."""

    def name(configured: str) -> str:
        return temporary_name(configured, build_id)

    steps: list[Step[Any]] = [
        StepCheckSourceImage(c.source_image_id, c.source_image_name),
        StepConfigKeyPair(
            name(c.temporary_key_pair_name),
            c.ssh_keypair_name,
            c.ssh_private_key_file,
            c.ssh_password,
            c.ssh_agent_auth,
        ),
        StepConfigVpc(c.vpc_id, name(c.vpc_name), c.cidr_block),
        StepConfigSubnet(c.subnet_id, name(c.subnet_name), c.subnet_cidr_block, c.zone),
        StepConfigSecurityGroup(c.security_group_id, name(c.security_group_name)),
    ]
    if c.communicator != "ssh":
        return [*steps, StepRunInstance(c, name(c.instance_name))]
    return [*steps, *instance_steps(c, name(c.instance_name))]


def instance_steps(c: TencentCvmConfig, name: str) -> list[Step[Any]]:
    """The instance in the network already configured on the context, SSH let in (unless the
    group is the user's) and connected: the end of ``boot_steps``, and a test instance."""
    steps: list[Step[Any]] = [StepRunInstance(c, name)]
    if not c.security_group_id:
        over_public_ip = c.associate_public_ip_address and not c.ssh_private_ip
        steps.append(StepAllowSsh(c.temporary_security_group_source_cidrs, over_public_ip))
    steps.append(StepConnectSsh(c.ssh_timeout))
    return steps
