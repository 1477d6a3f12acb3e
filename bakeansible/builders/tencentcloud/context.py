"""What a Tencent build discovers while it runs: ids of the resources it made or uses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.builders.tencentcloud.credentials import AccessSettings
from bakeansible.pipeline.context import BuildContext

TAG_BUILD_ID = "bake:build-id"
TAG_CREATED_BY = "bake:created-by"
TAG_EXPIRES_AT = "bake:expires-at"
#: On the instance: the name Ansible gives it (the provisioner's host_alias), as locally.
TAG_HOST_ALIAS = "bake:host-alias"
_EXPIRES_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_expires_at(timestamp: float) -> str:
    """The ``bake:expires-at`` tag value for a Unix time: UTC, to the second."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime(_EXPIRES_AT_FORMAT)


def parse_expires_at(value: str) -> dt.datetime | None:
    """A ``bake:expires-at`` tag value as an aware UTC datetime; None if it is not one."""
    try:
        return dt.datetime.strptime(value, _EXPIRES_AT_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


@dataclass
class TencentContext(BuildContext):
    """The build context of a ``tencentcloud-cvm`` build.

    Steps fill it in order: ``source_image`` (check source image), ``key_id`` and
    ``private_key_path`` (key pair), ``vpc_id``, ``subnet_id``, ``security_group_id``,
    ``instance`` and ``ssh`` (run instance), ``image_id`` and ``images`` (create/copy image).
    """

    client: TencentClient | None = None
    access: AccessSettings | None = None
    zone: str = ""
    #: bake:build-id, bake:created-by, bake:expires-at: put on every resource bake creates.
    tags: dict[str, str] = field(default_factory=dict)
    source_image: Any = None
    key_id: str = ""
    key_created: bool = False
    #: Where a temporary key pair's private key goes (a directory, made 0700 and removed with
    #: the key); None: a fresh temporary directory. ``bake instance up`` names the instance's
    #: work directory, since the key must outlive the command.
    key_dir: Path | None = None
    private_key_path: Path | None = None
    vpc_id: str = ""
    vpc_cidr: str = ""
    subnet_id: str = ""
    security_group_id: str = ""
    #: The sources the temporary group already lets SSH in from (a test instance adds its own).
    ssh_ingress_cidrs: list[str] = field(default_factory=list)
    #: The Ansible provisioner's host_alias: tagged on the instance, so the bake_cvm inventory
    #: names the host by it (``host_vars/default.yml`` applies as on a local build).
    host_alias: str = ""
    instance_id: str = ""
    instance: Any = None
    #: The instance could not be terminated: what it uses cannot be deleted, so don't wait.
    instance_left: bool = False
    #: When this build asked to terminate its instance (monotonic): the network, security
    #: group and key pair it used can be deleted once the cloud released them.
    terminated_at: float | None = None
    #: A security group or subnet could not be deleted: the VPC delete would only wait.
    network_left: bool = False
    image_id: str = ""
    #: region -> image id, the source region first.
    images: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_base(cls, base: BuildContext, **extra: Any) -> TencentContext:
        common = {f.name: getattr(base, f.name) for f in fields(BuildContext)}
        return cls(**common, **extra)

    @property
    def api(self) -> TencentClient:
        assert self.client is not None, "the builder sets the client in new_context"
        return self.client

    @property
    def region(self) -> str:
        return self.api.region

    def journal_data(self, **data: Any) -> dict[str, Any]:
        """What a later ``bake cleanup`` needs to find and delete a resource (never secrets)."""
        assert self.access is not None
        return {**self.access.journal_data(), "tags": dict(self.tags), **data}

    def tag_list(self, extra: dict[str, str] | None = None) -> list[dict[str, str]]:
        merged = {**(extra or {}), **self.tags}
        return [{"Key": k, "Value": v} for k, v in merged.items()]
