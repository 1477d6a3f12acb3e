"""The ``tencentcloud-cvm`` builder: the whole build as one flat list of steps.

Pre-validate, check source image, key pair, VPC, subnet, security group, run instance, connect,
provision, detach key pair, create image, test it (on a fresh instance), share, copy: Packer's
order (plus the tests), with its bugs fixed
(see each step's docstring). Cleanups run in reverse: instance, security group, subnet, VPC and
key pair always go; the image and its copies stay only when the build succeeded.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from bakeansible.builders.tencentcloud.access import AccessCheck, check_access
from bakeansible.builders.tencentcloud.boot import boot_steps, instance_steps, temporary_name
from bakeansible.builders.tencentcloud.client import RetryPolicy, TencentClient, assume_role
from bakeansible.builders.tencentcloud.config import TencentCvmConfig, config_issues
from bakeansible.builders.tencentcloud.context import (
    TAG_BUILD_ID,
    TAG_CREATED_BY,
    TAG_EXPIRES_AT,
    TencentContext,
    format_expires_at,
)
from bakeansible.builders.tencentcloud.credentials import (
    find_role,
)
from bakeansible.builders.tencentcloud.existing import check_existing_image, find_tagged_image
from bakeansible.builders.tencentcloud.inventory import CvmInventory
from bakeansible.builders.tencentcloud.steps.assume_role import StepAssumeRole
from bakeansible.builders.tencentcloud.steps.clear_keys import StepClearAuthorizedKeys
from bakeansible.builders.tencentcloud.steps.copy_image import StepCopyImage
from bakeansible.builders.tencentcloud.steps.create_image import StepCreateImage
from bakeansible.builders.tencentcloud.steps.detach_key_pair import StepDetachTempKeyPair
from bakeansible.builders.tencentcloud.steps.pre_validate import StepPreValidate
from bakeansible.builders.tencentcloud.steps.share_image import StepShareImage
from bakeansible.builders.tencentcloud.steps.source_image import (
    StepCheckSourceImage,
    newest_matching,
)
from bakeansible.communicators.agent import require_agent
from bakeansible.config.model import BuildSpec
from bakeansible.errors import ConfigError
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.previous import ImageCheck, PreviousImage
from bakeansible.pipeline.step import Step
from bakeansible.provisioners.run import (
    StepPrepareProvisioners,
    StepProvision,
    make_provisioners,
)
from bakeansible.provisioners.testphase import StepTestImage, TestInstance, make_checks

log = logging.getLogger(__name__)


class TencentCvmBuilder:
    """Bakes a CVM image from a temporary instance on Tencent Cloud (or the emulator)."""

    type_name: ClassVar[str] = "tencentcloud-cvm"
    config_class: ClassVar[type[TencentCvmConfig]] = TencentCvmConfig

    def __init__(
        self,
        spec: BuildSpec,
        project_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.config: TencentCvmConfig = spec.config
        self.project_dir = project_dir or Path.cwd()
        self.env = dict(os.environ) if env is None else env
        self.provisioners = make_provisioners(spec.provisioners, self.project_dir)
        self.checks = make_checks(spec.tests, self.project_dir)
        self._checked: AccessCheck | None = None
        self._lookup: TencentClient | None = None
        self._source: str | None = None
        self.policy = RetryPolicy(max_elapsed=self.config.api_retry_timeout)

    # -- before any side effect -----------------------------------------------------------
    def checked_access(self) -> AccessCheck:
        """Region, endpoints, credentials and warnings once every field is valid
        (``check_access``, as ``bake validate`` does); raise ConfigError listing every problem.

        Checked once (by preflight, before any side effect); every build context reuses it.
        """
        if self._checked is not None:
            return self._checked
        check = check_access(self.config, self.env)
        issues = [self.spec.issue(f, m) for f, m in check.issues]
        issues += [self.spec.issue(i.path, i.message) for i in config_issues(self.config)]
        if issues or check.credentials is None:
            raise ConfigError(issues, hint=f"Fix the {self.type_name} options of {self.spec.name}.")
        for warning in check.warnings:
            log.warning("%s: %s", self.spec.name, warning)
        self._checked = check
        return check

    def preflight(self, force: bool = False) -> None:
        """Validate every field, find the credentials and check the provisioners' inputs."""
        self.checked_access()
        if self.config.ssh_agent_auth and self.config.communicator == "ssh":
            require_agent(f"Build {self.spec.name}")
        if self.checks and self.config.communicator != "ssh":
            raise ConfigError(
                [self.spec.issue("tests", "tests need communicator ssh to reach the instance")],
                hint="Set communicator to ssh, or remove the build's tests.",
            )
        for prov in [*self.provisioners, *(c.provisioner for c in self.checks)]:
            prov.validate()

    # -- the build ------------------------------------------------------------------------
    def source_identity(self) -> str:
        """The source image, for the input fingerprint: ``image:<id>``; for
        ``source_image_name``, the id of the newest image it matches now (one DescribeImages
        search, once), so a newer matching image is a new source."""
        c = self.config
        if c.source_image_id:
            return f"image:{c.source_image_id}"
        if self._source is None:
            image, _ = newest_matching(self.lookup_client(), c.source_image_name)
            self._source = f"image:{image.ImageId}" if image else f"name:{c.source_image_name}"
        return self._source

    def lookup_client(self) -> TencentClient:
        """A client for read-only lookups before the build (incremental bakes); made once."""
        if self._lookup is not None:
            return self._lookup
        check = self.checked_access()
        assert check.credentials is not None, "checked_access refuses missing credentials"
        client = TencentClient(check.access, check.credentials, policy=self.policy)
        if role := self.role():
            client = TencentClient(
                check.access, assume_role(client, *role), policy=self.policy
            )
        self._lookup = client
        return client

    def existing_image(self, image: PreviousImage) -> ImageCheck:
        """The earlier images, if each still exists in its region and is NORMAL."""
        return check_existing_image(self.lookup_client(), image)

    def is_own_image(self, image: PreviousImage) -> bool:
        """Any image of the account: the same inputs make the same image, whichever project
        (or CI runner) baked it; ``existing_image`` checks that this account can see it."""
        return True

    def find_image(self, fingerprint: str) -> PreviousImage | None:
        """An image tagged with ``fingerprint`` (and tagged copies in the copy regions)."""
        client = self.lookup_client()
        copies = self.config.copy_regions(client.region)
        return find_tagged_image(client, self.spec.name, self.type_name, fingerprint, copies)

    def new_context(self, base: BuildContext) -> TencentContext:
        check = self.checked_access()
        access, creds = check.access, check.credentials
        assert creds is not None, "checked_access refuses a build without credentials"
        for secret in (creds.secret_key, creds.token, self.config.ssh_password):
            base.masker.add(secret)
        for warning in check.warnings:
            base.ui.say(f"Warning: {warning}")
        client = TencentClient(access, creds, policy=self.policy, cancel_event=base.cancel_event)
        expires = format_expires_at(base.started_at + self.config.max_build_time)
        tags = {
            TAG_BUILD_ID: base.build_id,
            TAG_CREATED_BY: f"bake@{socket.gethostname()}"[:127],
            TAG_EXPIRES_AT: expires,
        }
        ctx = TencentContext.from_base(
            base, client=client, access=access, zone=self.config.zone, tags=tags
        )
        ctx.inventory = CvmInventory()
        ctx.host_alias = self.host_alias()
        # Provisioners keep their run directories (ansible-runner's) under the output dir.
        ctx.output_dir = self.output_dir
        return ctx

    def host_alias(self) -> str:
        """The inventory name the instance is tagged with: the first Ansible provisioner's
        ``host_alias`` (a test's, when only tests run Ansible); empty without one."""
        for prov in [*self.provisioners, *(c.provisioner for c in self.checks)]:
            if alias := getattr(getattr(prov, "config", None), "host_alias", ""):
                return str(alias)
        return ""

    @property
    def output_dir(self) -> Path:
        """The run directories and default manifest: ``output/`` of the project."""
        return self.project_dir / "output"

    def role(self) -> tuple[str, str, int] | None:
        """(role ARN, session name, duration) when assume_role (or its env vars) is set."""
        r = self.config.assume_role
        role, _ = find_role(r.role_arn, r.session_name, r.session_duration, self.env)
        return (role.role_arn, role.session_name, role.duration) if role else None

    def steps(self, ctx: TencentContext) -> list[Step[Any]]:
        c = self.config
        assert ctx.access is not None, "new_context resolves the access settings"
        region = ctx.access.region

        steps: list[Step[Any]] = []
        if c.communicator == "ssh":
            checks = [c.provisioner for c in self.checks]
            steps.append(StepPrepareProvisioners([*self.provisioners, *checks]))
        if role := self.role():
            steps.append(StepAssumeRole(*role))
        steps += [
            StepPreValidate(c.image_name, c.zone, c.copy_regions(region), c.instance_type),
            *boot_steps(c, ctx.build_id),  # source image, key pair, network, instance, SSH
        ]
        if c.communicator == "ssh":
            steps.append(StepProvision(self.provisioners, c.ssh_timeout))
            if c.ssh_clear_authorized_keys:
                steps.append(StepClearAuthorizedKeys())
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
        ]
        if self.checks:  # before sharing and copying: a failed image goes nowhere
            steps.append(StepTestImage(self.checks, c.ssh_timeout, self.test_instance))
        steps += [
            StepShareImage(c.image_share_accounts),
            StepCopyImage(c.copy_regions(region), c.image_name, c.image_copy_timeout),
        ]
        return steps

    def test_instance(self, ctx: TencentContext) -> TestInstance:
        """A fresh CVM of the new image in the build's own VPC, subnet and security group
        (SSH let in from where bake reaches it, if the group does not allow that yet), with
        its key pair; the build's own instance, still there, is left out of Ansible's inventory
        by its instance id."""
        # The test instance is part of this build (same id): its short-lived host files go in
        # the build's own directory, made now so the build removes it at its end.
        ctx.temp_dir()
        # Everything of the build is shared (client, tags, key, network); only what belongs to
        # one instance starts afresh, and the child owns none of the build's resources.
        child = replace(
            ctx,
            source_image=None,
            key_created=False,
            instance_id="",
            instance=None,
            instance_left=False,
            terminated_at=None,
            network_left=False,
            ssh=None,
            comm=None,
            artifact=None,
        )
        c = self.config
        name = f"{temporary_name(c.instance_name, ctx.build_id)}_test"
        steps = [StepCheckSourceImage(ctx.image_id, ""), *instance_steps(c, name)]
        return TestInstance(child, steps)
