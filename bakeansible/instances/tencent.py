"""Instances from Tencent Cloud images: ``bake instance up --source img-…`` and ``bake test
img-…`` boot a CVM with the builder's own boot steps (``builders/tencentcloud/boot.py``).

The options become a ``TencentCvmConfig``, checked with the builder's own checks
(``config_issues``, ``check_access``: credentials, region and endpoint from the environment and
the tccli profile, as for builds), every problem listed at once, before anything is created.
The builder makes the context (client, tags on every resource, masked secrets), so a CVM of
``bake instance up`` is tagged and journaled exactly like a build's temporary instance; its
``bake:expires-at`` tag is the time it was started plus ``--ttl``, which ``bake cleanup --tags``
sweeps by.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bakeansible.builders.tencentcloud.access import check_access
from bakeansible.builders.tencentcloud.boot import boot_steps
from bakeansible.builders.tencentcloud.builder import TencentCvmBuilder
from bakeansible.builders.tencentcloud.client import RetryPolicy, TencentClient
from bakeansible.builders.tencentcloud.config import (
    TencentCvmConfig,
    config_issues,
    unchecked_config,
)
from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.credentials import AccessSettings, resolve_credentials
from bakeansible.builders.tencentcloud.steps.assume_role import StepAssumeRole
from bakeansible.config.durations import parse_duration
from bakeansible.config.model import BuildSpec
from bakeansible.errors import BakeError, ConfigError, ConfigIssue
from bakeansible.instances.record import TENCENT, InstanceInfo
from bakeansible.instances.sources import CloudOptions
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.step import Step

#: Stands in for the image name a build would make; an instance makes no image.
_NO_IMAGE = "bake-instance"
#: The command line option behind each config field (others come from env or profile).
_OPTIONS = {
    "region": "--region",
    "zone": "--zone",
    "instance_type": "--instance-type",
    "ssh_username": "--ssh-username",
    "source_image_id": "--source",
    "max_build_time": "--ttl",
}


def cvm_config(
    image: str,
    options: CloudOptions,
    ssh_username: str,
    *,
    command: str,
    env: Mapping[str, str] | None = None,
    default_ttl: str | None = None,
) -> TencentCvmConfig:
    """The checked config of a CVM booted from ``image``; ConfigError listing every problem
    (options, credentials, region, endpoint) otherwise. ``--ttl`` (else ``default_ttl``, else
    the builder's ``max_build_time``) sets the ``bake:expires-at`` tag."""
    env = os.environ if env is None else env
    issues: list[ConfigIssue] = []
    values: dict[str, Any] = {}
    ttl = options.ttl if options.ttl is not None else default_ttl
    if ttl is not None:
        try:
            lifetime = parse_duration(ttl)
        except ValueError as exc:
            issues.append(ConfigIssue(command, "--ttl", str(exc)))
        else:
            if lifetime <= 0:
                issues.append(ConfigIssue(command, "--ttl", f"must be positive, got {ttl!r}"))
            values["max_build_time"] = lifetime
    config = unchecked_config(
        source_image_id=image,
        image_name=_NO_IMAGE,
        region=options.region or "",
        zone=options.zone or "",
        instance_type=options.instance_type or "",
        associate_public_ip_address=not options.private_ip,
        ssh_username=ssh_username,
        **values,
    )
    check = check_access(config, env)
    found = [*check.issues, *((i.path, i.message) for i in config_issues(config))]
    issues += [ConfigIssue(command, _OPTIONS.get(f, f), m) for f, m in found]
    if issues or check.credentials is None:
        raise ConfigError(
            issues,
            hint="Give --region (or env TENCENTCLOUD_REGION), --zone and --instance-type; "
            "credentials come from env TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY or the "
            "tccli profile, as for builds.",
        )
    return config


class CvmBoot:
    """Boots a CVM as the builder would: its context, its boot steps, then how to reach it."""

    def __init__(
        self,
        config: TencentCvmConfig,
        name: str,
        project_dir: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        spec = BuildSpec(name=name, type=TencentCvmBuilder.type_name, config=config)
        self.config = config
        self.builder = TencentCvmBuilder(spec, project_dir, dict(env) if env else None)

    def new_context(self, base: BuildContext, key_dir: Path | None = None) -> TencentContext:
        """``base`` with the API client and the tags (as the builder makes it), and
        ``key_dir``: where the temporary private key goes, when it must outlive the command."""
        ctx = self.builder.new_context(base)
        ctx.key_dir = key_dir
        return ctx

    def steps(self, ctx: TencentContext) -> list[Step[Any]]:
        role = self.builder.role()
        return [*([StepAssumeRole(*role)] if role else []), *boot_steps(self.config, ctx.build_id)]

    @staticmethod
    def info(ctx: BuildContext, name: str, source: str) -> InstanceInfo:
        """How to reach the CVM: the address bake connected to (public unless --private-ip)."""
        assert isinstance(ctx, TencentContext)
        return InstanceInfo.reached(
            ctx, name, source, ctx.private_key_path,
            kind=TENCENT, region=ctx.region, instance_id=ctx.instance_id,
        )  # fmt: skip


#: ``bake instance list`` asks once and does not wait out a cloud that does not answer.
_LIST_POLICY = RetryPolicy(max_attempts=3, max_elapsed=10.0)


def cvm_states(journal: Journal, build_ids: list[str]) -> dict[str, str]:
    """The state of each held CVM (``running``, ``stopped``, ``gone``...) by build id, with one
    DescribeInstances per region and endpoint, from what the journal recorded (credentials from
    the environment or profile, as ``bake cleanup``); ``unknown (<reason>)`` when the API
    cannot say."""
    wanted: dict[AccessSettings, list[tuple[str, str]]] = {}
    states: dict[str, str] = {}
    for build_id in build_ids:
        found = [
            r for r in journal.open_resources(build_id) if r.kind == "tencent.instance" and r.ident
        ]
        if not found:
            states[build_id] = "gone"
            continue
        access = AccessSettings.from_journal(found[0].data)
        wanted.setdefault(access, []).append((build_id, str(found[0].ident)))
    for access, group in wanted.items():
        ids = [ident for _, ident in group]
        try:
            creds = resolve_credentials(
                profile=access.profile, shared_credentials_dir=access.shared_credentials_dir
            )
            client = TencentClient(access, creds, policy=_LIST_POLICY)
            reply = client.cvm("DescribeInstances", {"InstanceIds": ids, "Limit": 100})
            known = {i.InstanceId: str(i.InstanceState).lower() for i in reply.InstanceSet or []}
        except Exception as exc:  # a listing never fails for one unreachable cloud
            reason = exc.message if isinstance(exc, BakeError) else str(exc)
            known = {ident: f"unknown ({reason.splitlines()[0] if reason else type(exc).__name__})"
                     for ident in ids}  # fmt: skip
        for build_id, ident in group:
            states[build_id] = known.get(ident, "gone")
    return states
