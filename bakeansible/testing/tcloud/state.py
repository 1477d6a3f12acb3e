"""The emulated resources of one account, partitioned by region.

Records are plain mutable dataclasses guarded by the emulator's single lock; rendering them into
API shapes lives in the action modules.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bakeansible.testing.tcloud.catalog import PUBLIC_IMAGES

if TYPE_CHECKING:
    from bakeansible.builders.local.instance import LocalInstance

_ID_CHARS = string.ascii_lowercase + string.digits


def new_id(prefix: str) -> str:
    """``ins-``/``img-``/``skey-``/``vpc-``... followed by 8 characters of ``[0-9a-z]``."""
    return prefix + "-" + "".join(secrets.choice(_ID_CHARS) for _ in range(8))


def iso_now() -> str:
    """cvm's timestamp format."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def vpc_now() -> str:
    """vpc's timestamp format."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Instance:
    """One CVM instance and, once booted, its container."""

    id: str
    name: str
    zone: str
    instance_type: str
    image_id: str
    os_name: str
    vpc_id: str
    subnet_id: str
    security_group_ids: list[str]
    key_ids: list[str]
    private_ip: str
    public_assigned: bool
    internet: dict[str, Any]
    system_disk: dict[str, Any]
    data_disks: list[dict[str, Any]]
    charge_type: str
    tags: list[dict[str, str]]
    host_name: str
    password: str | None = None
    cam_role_name: str = ""
    address: str = ""  # the container's address (its network namespace's), the public IP
    state: str = "PENDING"
    latest_operation: str | None = "RunInstances"
    latest_operation_state: str | None = "OPERATING"
    latest_operation_request_id: str | None = None
    latest_operation_error: str | None = None
    created: str = field(default_factory=iso_now)
    uuid: str = field(default_factory=lambda: secrets.token_hex(16))
    container: LocalInstance | None = None
    layers: tuple[str, ...] = ()  # the image's layers the instance booted from
    base_root: str = ""  # the bottom root filesystem (a Debian base)
    visible_at: float = 0.0  # monotonic time from which DescribeInstances shows it
    request_id: str = ""

    @property
    def operating(self) -> bool:
        return self.latest_operation_state == "OPERATING"


@dataclass
class Image:
    """A public or private image. Private images carry the layers their root is made of."""

    id: str
    name: str
    os_name: str
    platform: str
    image_type: str  # PUBLIC_IMAGE, PRIVATE_IMAGE
    source: str  # OFFICIAL, CREATE_IMAGE
    size: int
    state: str = "NORMAL"
    description: str = ""
    created: str = field(default_factory=iso_now)
    creator: str = ""
    tags: list[dict[str, str]] = field(default_factory=list)
    suite: str | None = None  # for public images: the Debian base backing it
    base_root: str | None = None  # for private images: the bottom root filesystem
    layers: tuple[str, ...] = ()  # newest first, names in the layer store
    key_ids: list[str] = field(default_factory=list)  # key pairs the image pins
    shared_with: dict[str, str] = field(default_factory=dict)  # account -> time
    snapshot_id: str = field(default_factory=lambda: new_id("snap"))
    sync_percent: int = 100
    error: str | None = None


@dataclass
class KeyPair:
    """A key pair; the private key is returned once, by CreateKeyPair."""

    id: str
    name: str
    project_id: int
    public_key: str
    tags: list[dict[str, str]]
    description: str = ""
    created: str = field(default_factory=iso_now)


@dataclass
class Vpc:
    """A VPC."""

    id: str
    name: str
    cidr: str
    tags: list[dict[str, str]]
    dns_servers: list[str] = field(default_factory=lambda: ["183.60.83.19", "183.60.82.98"])
    domain_name: str = ""
    multicast: bool = False
    is_default: bool = False
    created: str = field(default_factory=vpc_now)


@dataclass
class Subnet:
    """A subnet of a VPC in one zone; ``used`` holds the private addresses handed out."""

    id: str
    name: str
    vpc_id: str
    cidr: str
    zone: str
    tags: list[dict[str, str]]
    route_table_id: str = field(default_factory=lambda: new_id("rtb"))
    network_acl_id: str = ""
    is_default: bool = False
    used: set[str] = field(default_factory=set)
    created: str = field(default_factory=vpc_now)


@dataclass
class SecurityGroup:
    """A security group with its ingress and egress policies."""

    id: str
    name: str
    description: str
    project_id: str
    tags: list[dict[str, str]]
    ingress: list[dict[str, Any]] = field(default_factory=list)
    egress: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    created: str = field(default_factory=vpc_now)
    updated: str = field(default_factory=vpc_now)


@dataclass
class RegionState:
    """Everything that lives in one region."""

    name: str
    instances: dict[str, Instance] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)
    key_pairs: dict[str, KeyPair] = field(default_factory=dict)
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    security_groups: dict[str, SecurityGroup] = field(default_factory=dict)
    client_tokens: dict[str, list[str]] = field(default_factory=dict)
    # Resources a terminated instance still holds: id -> monotonic time it is released.
    held_until: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for pub in PUBLIC_IMAGES:
            self.images[pub.image_id] = Image(
                id=pub.image_id,
                name=pub.name,
                os_name=pub.os_name,
                platform=pub.platform,
                image_type="PUBLIC_IMAGE",
                source="OFFICIAL",
                size=pub.size,
                suite=pub.suite,
                created="2023-06-12T08:00:00Z",
            )

    def held(self, resource_id: str) -> bool:
        until = self.held_until.get(resource_id)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self.held_until[resource_id]
            return False
        return True

    def live_instances_using(self, attr: str, resource_id: str) -> list[Instance]:
        result = []
        for inst in self.instances.values():
            value = getattr(inst, attr)
            if resource_id == value or (isinstance(value, list) and resource_id in value):
                result.append(inst)
        return result

    def live_resources(self) -> dict[str, list[str]]:
        """Every resource a client created and has not deleted (public/default ones excluded)."""
        return {
            "instances": sorted(self.instances),
            "images": sorted(i.id for i in self.images.values() if i.image_type != "PUBLIC_IMAGE"),
            "key_pairs": sorted(self.key_pairs),
            "vpcs": sorted(v.id for v in self.vpcs.values() if not v.is_default),
            "subnets": sorted(s.id for s in self.subnets.values() if not s.is_default),
            "security_groups": sorted(self.security_groups),
        }
