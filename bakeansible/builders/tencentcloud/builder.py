"""The ``tencentcloud-cvm`` builder: the whole build as one flat list of steps.

Pre-validate, check source image, key pair, VPC, subnet, security group, run instance, connect,
provision, detach key pair, create image, share, copy: Packer's order, with its bugs fixed
(see each step's docstring). Cleanups run in reverse: instance, security group, subnet, VPC and
key pair always go; the image and its copies stay only when the build succeeded.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from bakeansible.builders.tencentcloud.client import RetryPolicy, TencentClient
from bakeansible.builders.tencentcloud.config import TencentCvmConfig, config_issues
from bakeansible.builders.tencentcloud.context import (
    TAG_BUILD_ID,
    TAG_CREATED_BY,
    TAG_EXPIRES_AT,
    TencentContext,
)
from bakeansible.builders.tencentcloud.credentials import (
    AccessSettings,
    Credentials,
    resolve_credentials,
    resolve_endpoints,
    resolve_region,
)
from bakeansible.builders.tencentcloud.steps.assume_role import StepAssumeRole
from bakeansible.builders.tencentcloud.steps.clear_keys import StepClearAuthorizedKeys
from bakeansible.builders.tencentcloud.steps.copy_image import StepCopyImage
from bakeansible.builders.tencentcloud.steps.create_image import StepCreateImage
from bakeansible.builders.tencentcloud.steps.detach_key_pair import StepDetachTempKeyPair
from bakeansible.builders.tencentcloud.steps.key_pair import StepConfigKeyPair
from bakeansible.builders.tencentcloud.steps.pre_validate import StepPreValidate
from bakeansible.builders.tencentcloud.steps.run_instance import StepRunInstance
from bakeansible.builders.tencentcloud.steps.security_group import StepConfigSecurityGroup
from bakeansible.builders.tencentcloud.steps.share_image import StepShareImage
from bakeansible.builders.tencentcloud.steps.source_image import StepCheckSourceImage
from bakeansible.builders.tencentcloud.steps.subnet import StepConfigSubnet
from bakeansible.builders.tencentcloud.steps.vpc import StepConfigVpc
from bakeansible.communicators.agent import require_agent
from bakeansible.config.model import BuildSpec, ProvisionerSpec
from bakeansible.errors import ConfigError
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.step import Step
from bakeansible.provisioners.run import (
    StepConnectSsh,
    StepPrepareProvisioners,
    StepProvision,
    make_provisioners,
)


class TencentCvmBuilder:
    """Bakes a CVM image from a temporary instance on Tencent Cloud (or the emulator)."""

    type_name: ClassVar[str] = "tencentcloud-cvm"
    config_class: ClassVar[type[TencentCvmConfig]] = TencentCvmConfig

    def __init__(
        self,
        spec: BuildSpec,
        provisioners: Sequence[ProvisionerSpec] | None = None,
        project_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.config: TencentCvmConfig = spec.config
        self.project_dir = project_dir or Path.cwd()
        self.env = dict(os.environ) if env is None else env
        specs = spec.provisioners if provisioners is None else provisioners
        self.provisioners = make_provisioners(specs, self.project_dir)
        self.suffix = secrets.token_hex(4)
        self._access: AccessSettings | None = None
        self._creds: Credentials | None = None
        self.policy = RetryPolicy(max_elapsed=self.config.api_retry_timeout)

    # -- before any side effect -----------------------------------------------------------
    def resolve_access(self) -> tuple[AccessSettings, Credentials]:
        """Region, endpoints and credentials from config, environment or profile."""
        c = self.config
        region = resolve_region(
            c.region, profile=c.profile, shared_credentials_dir=c.shared_credentials_dir,
            env=self.env,
        )  # fmt: skip
        cvm, vpc = resolve_endpoints(c.endpoint, c.cvm_endpoint, c.vpc_endpoint, self.env)
        access = AccessSettings(region, cvm, vpc, c.profile, c.shared_credentials_dir)
        creds = resolve_credentials(
            c.secret_id, c.secret_key, c.security_token, profile=c.profile,
            shared_credentials_dir=c.shared_credentials_dir, env=self.env,
        )  # fmt: skip
        return access, creds

    def preflight(self, force: bool = False) -> None:
        """Validate every field and find the credentials; raise ConfigError listing them all."""
        c = self.config
        issues = []
        try:
            access, creds = self.resolve_access()
        except ConfigError as exc:
            issues.extend(exc.issues)
            access, creds = None, None
        region = access.region if access else c.region
        cvm_endpoint = access.cvm_endpoint if access else c.cvm_endpoint
        # An endpoint from the environment also lifts the region check, as in config.
        effective = c if not cvm_endpoint or c.endpoint else _with_endpoint(c, cvm_endpoint)
        issues.extend(config_issues(effective, region=region))
        if issues:
            raise ConfigError(issues, hint=f"Fix the {self.type_name} options of {self.spec.name}.")
        self._access, self._creds = access, creds
        if c.ssh_agent_auth and c.communicator == "ssh":
            require_agent(f"Build {self.spec.name}")
        for prov in self.provisioners:
            prov.validate()

    # -- the build ------------------------------------------------------------------------
    def source_identity(self) -> str:
        """The source image, for the input fingerprint (an id, or the name pattern)."""
        c = self.config
        return f"image:{c.source_image_id}" if c.source_image_id else f"name:{c.source_image_name}"

    def new_context(self, base: BuildContext) -> TencentContext:
        if self._access is None or self._creds is None:
            self.preflight(force=base.force)
        assert self._access is not None and self._creds is not None
        self.suffix = base.build_id[:8]
        creds = self._creds
        for secret in (creds.secret_key, creds.token, self.config.ssh_password):
            base.masker.add(secret)
        client = TencentClient(
            self._access, creds, policy=self.policy, cancel_event=base.cancel_event
        )
        expires = dt.datetime.fromtimestamp(
            base.started_at + self.config.max_build_time, tz=dt.UTC
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
        tags = {
            TAG_BUILD_ID: base.build_id,
            TAG_CREATED_BY: f"bake@{socket.gethostname()}"[:127],
            TAG_EXPIRES_AT: expires,
        }
        ctx = TencentContext.from_base(
            base, client=client, access=self._access, zone=self.config.zone, tags=tags
        )
        # Provisioners keep their run directories (ansible-runner's) under the output dir.
        if not ctx.output_dir.is_absolute():
            ctx.output_dir = self.project_dir / ctx.output_dir
        return ctx

    def role(self) -> tuple[str, str, int] | None:
        """(role ARN, session name, duration) when assume_role (or its env vars) is set."""
        role = self.config.assume_role
        arn = role.role_arn or self.env.get("TENCENTCLOUD_ASSUME_ROLE_ARN", "")
        session = role.session_name or self.env.get("TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME", "")
        if not (arn and session):
            return None
        duration = role.session_duration or int(
            self.env.get("TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION", "") or 7200
        )
        return arn, session, duration

    def name(self, configured: str) -> str:
        """A temporary resource's name: the configured one, else ``bake_<build id prefix>``."""
        return configured or f"bake_{self.suffix}"

    def steps(self) -> list[Step[Any]]:
        c = self.config
        region = self._access.region if self._access else c.region
        endpoint = self._access.cvm_endpoint if self._access else c.cvm_api_endpoint()
        steps: list[Step[Any]] = []
        if c.communicator == "ssh":
            steps.append(StepPrepareProvisioners(self.provisioners))
        if role := self.role():
            steps.append(StepAssumeRole(*role))
        steps += [
            StepPreValidate(c.image_name, c.zone, c.copy_regions(region), c.instance_type),
            StepCheckSourceImage(c.source_image_id, c.source_image_name),
            StepConfigKeyPair(
                self.name(c.temporary_key_pair_name),
                c.ssh_keypair_name,
                c.ssh_private_key_file,
                c.ssh_password,
                c.ssh_agent_auth,
            ),
            StepConfigVpc(c.vpc_id, self.name(c.vpc_name), c.cidr_block),
            StepConfigSubnet(c.subnet_id, self.name(c.subnet_name), c.subnect_cidr_block, c.zone),
            StepConfigSecurityGroup(
                c.security_group_id,
                self.name(c.security_group_name),
                c.temporary_security_group_source_cidrs,
                c.ssh_port,
                endpoint,
                c.associate_public_ip_address and not c.ssh_private_ip,
            ),
            StepRunInstance(c, self.name(c.instance_name)),
        ]
        if c.communicator == "ssh":
            connect = StepConnectSsh(c.ssh_timeout)
            steps += [connect, StepProvision(connect, self.provisioners)]
            if c.ssh_clear_authorized_keys:
                steps.append(StepClearAuthorizedKeys(connect))
        steps += [
            StepDetachTempKeyPair(c.instance_ready_timeout),
            StepCreateImage(
                c.image_name,
                c.image_description,
                c.force_poweroff,
                c.sysprep,
                dict(c.image_tags),
                c.image_ready_timeout,
            ),
            StepShareImage(c.image_share_accounts),
            StepCopyImage(c.copy_regions(region), c.image_name, c.image_copy_timeout),
        ]
        return steps


def _with_endpoint(config: TencentCvmConfig, endpoint: str) -> TencentCvmConfig:
    from dataclasses import replace

    return replace(config, endpoint=endpoint)
