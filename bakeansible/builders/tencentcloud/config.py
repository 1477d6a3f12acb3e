"""Options of the ``tencentcloud-cvm`` builder: Packer's fields, same names, plus bake's own.

Packer's builder mixes access, image, run and communicator options in one block; so does this
dataclass (sections below). Values that come from the environment or a tccli profile (secrets,
region) are resolved by ``access.check_access`` (for ``bake validate`` and the build's preflight),
so the frozen config stays what the user wrote. ``config_issues`` checks the options themselves.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from bakeansible.config.fields import opt
from bakeansible.errors import ConfigIssue

DISK_TYPES = ("LOCAL_BASIC", "LOCAL_SSD", "CLOUD_BASIC", "CLOUD_SSD", "CLOUD_PREMIUM")
CHARGE_TYPES = ("POSTPAID_BY_HOUR", "SPOTPAID", "PREPAID", "CDHPAID", "CDCPAID")
INTERNET_CHARGE_TYPES = (
    "TRAFFIC_POSTPAID_BY_HOUR",
    "BANDWIDTH_POSTPAID_BY_HOUR",
    "BANDWIDTH_PACKAGE",
    "BANDWIDTH_PREPAID",
)
_IMAGE_ID = re.compile(r"img-[0-9a-z]{8}")
_KEY_NAME = re.compile(r"[A-Za-z0-9_]{1,25}")


@dataclass(frozen=True)
class DataDisk:
    """One data disk of the temporary instance (Packer's ``data_disks`` entry)."""

    disk_type: str = opt("", doc="Disk type; default: the builder's disk_type.")
    disk_size: int = opt(0, doc="Size in GB.")
    disk_snapshot_id: str = opt("", doc="Snapshot to create the disk from.")


@dataclass(frozen=True)
class KeyValue:
    """One ``run_tag`` block (Packer's repeatable ``{key, value}``)."""

    key: str = opt(doc="Tag key.")
    value: str = opt("", doc="Tag value.")


@dataclass(frozen=True)
class AssumeRole:
    """STS AssumeRole before any other call (Packer's ``assume_role`` block)."""

    role_arn: str = opt("", doc="Role ARN; env TENCENTCLOUD_ASSUME_ROLE_ARN.")
    session_name: str = opt("", doc="Session name; env TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME.")
    session_duration: int = opt(
        0, doc="Seconds (0-43200, default 7200); env TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION."
    )


@dataclass(frozen=True)
class TencentCvmConfig:
    """Bake an image on Tencent Cloud CVM: a temporary instance, provisioned, then imaged."""

    # --- access --------------------------------------------------------------------------
    secret_id: str = opt(
        "", doc="API SecretId; else env TENCENTCLOUD_SECRET_ID (or TENCENTCLOUD_ACCESS_KEY), "
        "else the tccli profile.", secret=True,
    )  # fmt: skip
    secret_key: str = opt(
        "", doc="API SecretKey; else env TENCENTCLOUD_SECRET_KEY, else the tccli profile.",
        secret=True,
    )  # fmt: skip
    region: str = opt("", doc="Region, e.g. ap-guangzhou; else env TENCENTCLOUD_REGION or profile.")
    zone: str = opt("", doc="Availability zone, e.g. ap-guangzhou-3 (checked with DescribeZones).")
    endpoint: str = opt(
        "", doc="API endpoint for both cvm and vpc, e.g. http://127.0.0.1:8080 for the emulator "
        "(bake's addition; env TENCENTCLOUD_ENDPOINT).",
    )  # fmt: skip
    cvm_endpoint: str = opt("", doc="cvm API endpoint (scheme://host[:port] or host).")
    vpc_endpoint: str = opt("", doc="vpc API endpoint (scheme://host[:port] or host).")
    security_token: str = opt(
        "", doc="STS token; else env TENCENTCLOUD_SESSION_TOKEN / TENCENTCLOUD_SECURITY_TOKEN, "
        "else the profile.", secret=True,
    )  # fmt: skip
    assume_role: AssumeRole = opt(factory=AssumeRole, doc="STS AssumeRole settings.")
    profile: str = opt("", doc="tccli profile name; else env TENCENTCLOUD_PROFILE, else default.")
    shared_credentials_dir: str = opt(
        "", doc="Directory of <profile>.credential / .configure; else "
        "env TENCENTCLOUD_SHARED_CREDENTIALS_DIR, else ~/.tccli.",
    )  # fmt: skip
    skip_region_validation: bool = opt(
        False, doc="Accept regions (and copy regions) not in bake's list, with a warning."
    )

    # --- image ---------------------------------------------------------------------------
    image_name: str = opt("", doc="Name of the new image (at most 60 characters, unique).")
    image_description: str = opt("", doc="Description of the new image (at most 60).")
    force_poweroff: bool = opt(False, doc="Power the instance off before imaging.")
    sysprep: bool = opt(False, doc="Run sysprep before imaging (Windows).")
    image_copy_regions: tuple[str, ...] = opt(factory=tuple, doc="Copy the image to regions.")
    image_share_accounts: tuple[str, ...] = opt(factory=tuple, doc="Share with account ids.")
    image_tags: dict[str, str] = opt(factory=dict, doc="Tags of the new image.")

    # --- run -----------------------------------------------------------------------------
    instance_type: str = opt("", doc="Instance type, e.g. S5.MEDIUM2.")
    source_image_id: str = opt(
        "", doc="Image to start from, img-xxxxxxxx, or channel:CHANNEL/BUILD (an image of the "
        "registry, in the build's region).",
    )
    source_image_name: str = opt(
        "", doc="Regular expression on image names (searched server-side, every page); the "
        "newest match wins.",
    )  # fmt: skip
    instance_charge_type: str = opt("POSTPAID_BY_HOUR", doc="POSTPAID_BY_HOUR or SPOTPAID.")
    instance_name: str = opt("", doc="Name of the temporary instance; default bake_<id>.")
    host_name: str = opt("", doc="Host name; default: instance name, cut to 15, _ -> -.")
    disk_type: str = opt("CLOUD_PREMIUM", doc="System disk type: " + ", ".join(DISK_TYPES) + ".")
    disk_size: int = opt(50, doc="System disk size in GB.")
    data_disks: tuple[DataDisk, ...] = opt(
        factory=tuple, doc="Data disks (ignored if the source image has data-disk snapshots)."
    )
    vpc_id: str = opt("", doc="Use this VPC instead of creating one.")
    vpc_name: str = opt("", doc="Name of the temporary VPC; default bake_<id>.")
    cidr_block: str = opt("", doc="CIDR of the temporary VPC; default 10.0.0.0/16.")
    subnet_id: str = opt("", doc="Use this subnet (needs vpc_id).")
    subnet_name: str = opt("", doc="Name of the temporary subnet; default bake_<id>.")
    subnet_cidr_block: str = opt(
        "", doc="CIDR of the temporary subnet; default 10.0.8.0/24.",
        aliases=("subnect_cidr_block",),  # Packer's spelling
    )  # fmt: skip
    security_group_id: str = opt("", doc="Use this security group instead of creating one.")
    security_group_name: str = opt("", doc="Name of the temporary security group.")
    associate_public_ip_address: bool = opt(
        False, doc="Give the instance a public address and connect over it."
    )
    internet_charge_type: str = opt("", doc="Bandwidth charge: " + ", ".join(INTERNET_CHARGE_TYPES))
    internet_max_bandwidth_out: int = opt(0, doc="Mbps; 1 when a public address is asked and <=0.")
    bandwidth_package_id: str = opt("", doc="Needed with BANDWIDTH_PACKAGE.")
    user_data: str = opt("", doc="User data (sent base64-encoded).")
    user_data_file: str = opt("", doc="File holding the user data.")
    cam_role_name: str = opt("", doc="CAM role of the instance.")
    run_tags: dict[str, str] = opt(factory=dict, doc="Tags of the temporary instance.")
    run_tag: tuple[KeyValue, ...] = opt(factory=tuple, doc="Repeatable {key, value} run tags.")

    # --- communicator --------------------------------------------------------------------
    communicator: str = opt("ssh", doc="ssh (winrm is not supported), or none.")
    ssh_username: str = opt("root", doc="User to log in as.")
    ssh_password: str = opt("", doc="Password; also set as the instance's login.", secret=True)
    ssh_port: int = opt(22, doc="SSH port (also the only port the temporary group opens).")
    ssh_host: str = opt("", doc="Connect to this address instead of the instance's.")
    ssh_timeout: float = opt(300.0, doc="How long to wait for SSH (Packer default 5m).")
    ssh_private_key_file: str = opt("", doc="Private key to log in with.")
    ssh_keypair_name: str = opt("", doc="Existing key pair id (skey-...) bound to the instance.")
    temporary_key_pair_name: str = opt("", doc="Name of the temporary key pair; default bake_<id>.")
    ssh_agent_auth: bool = opt(False, doc="Authenticate with the local ssh-agent.")
    ssh_clear_authorized_keys: bool = opt(
        False, doc="Remove ~/.ssh/authorized_keys before imaging (the temporary key pair is "
        "detached through the API in any case).",
    )  # fmt: skip
    ssh_private_ip: bool = opt(False, doc="Connect to the private address even with a public one.")
    winrm_username: str = opt("", doc="Accepted for Packer templates; winrm is not supported.")
    winrm_password: str = opt("", doc="Accepted for Packer templates.", secret=True)

    # --- bake's own ----------------------------------------------------------------------
    instance_ready_timeout: float = opt(
        1800.0, doc="How long to wait for the instance to run.", aliases=("instance_timeout",)
    )
    image_ready_timeout: float = opt(
        3600.0, doc="How long to wait for the image to be NORMAL.", aliases=("image_timeout",)
    )
    image_copy_timeout: float = opt(1800.0, doc="How long to wait for each region's copy.")
    api_retry_timeout: float = opt(
        300.0, doc="How long one API call may keep retrying throttling and transient errors."
    )
    temporary_security_group_source_cidrs: tuple[str, ...] = opt(
        factory=tuple, doc="Sources allowed to reach SSH; default: the address bake connects to "
        "the instance from (the VPC CIDR over the private address), else 0.0.0.0/0 with a "
        "warning.",
    )  # fmt: skip
    max_build_time: float = opt(
        7200.0, doc="Upper bound of the build; sets the bake:expires-at tag on every resource."
    )

    def __post_init__(self) -> None:
        # The decoder turns this into one issue at the builder's position in the template.
        if problems := static_issues(self):
            raise ValueError("; ".join(f"{field}: {message}" for field, message in problems))

    def environment_issues(
        self, env: Mapping[str, str]
    ) -> tuple[list[tuple[str, str]], list[str]]:
        """(field, message) issues and warnings about what comes from outside the template
        (credentials, region, profile files), resolved as the build resolves them."""
        from bakeansible.builders.tencentcloud.access import check_access

        check = check_access(self, env)
        return [*check.issues, *_file_issues(self)], list(check.warnings)

    def all_run_tags(self) -> dict[str, str]:
        return {**self.run_tags, **{t.key: t.value for t in self.run_tag}}

    def copy_regions(self, region: str) -> list[str]:
        """image_copy_regions de-duplicated, in order, without the source region."""
        seen: list[str] = []
        for r in self.image_copy_regions:
            if r != region and r not in seen:
                seen.append(r)
        return seen


def unchecked_config(**values: Any) -> TencentCvmConfig:
    """A config from a command's options, built without ``__post_init__``'s check, so that the
    command lists every problem at once (``config_issues``, ``check_access``) instead of the
    first ``ValueError``; a caller refuses to use it while it has issues."""
    config = object.__new__(TencentCvmConfig)
    for f in fields(TencentCvmConfig):
        if f.name in values:
            value = values.pop(f.name)
        elif f.default is not MISSING:
            value = f.default
        else:
            assert f.default_factory is not MISSING, f.name
            value = f.default_factory()
        object.__setattr__(config, f.name, value)  # frozen: as dataclasses' own __init__ does
    if values:
        raise TypeError(f"unknown TencentCvmConfig fields: {sorted(values)}")
    return config


def config_issues(config: TencentCvmConfig, *, file: str = "<template>") -> list[ConfigIssue]:
    """Every problem of the options themselves, files included (access: ``check_access``)."""
    return [ConfigIssue(file, f, m) for f, m in _issues(config, with_files=True)]


def static_issues(config: TencentCvmConfig) -> list[tuple[str, str]]:
    """(field, message) for what the template alone gets wrong (no env, files or region)."""
    return _issues(config, with_files=False)


def _issues(config: TencentCvmConfig, *, with_files: bool) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []

    def bad(field: str, message: str) -> None:
        issues.append((field, message))

    if bool(config.cvm_endpoint) != bool(config.vpc_endpoint) and not config.endpoint:
        bad("vpc_endpoint", "cvm_endpoint and vpc_endpoint must be set together (or use endpoint)")
    for name in ("endpoint", "cvm_endpoint", "vpc_endpoint"):
        value = getattr(config, name)
        if value and not re.fullmatch(r"(https?://)?[A-Za-z0-9.\-\[\]:]+/?", value):
            bad(name, f"expected scheme://host[:port] or host[:port], got {value!r}")
    if not config.zone:
        bad("zone", "is required, e.g. ap-guangzhou-3")
    duration = config.assume_role.session_duration
    if not 0 <= duration <= 43200:
        bad("assume_role.session_duration", "must be between 0 and 43200 seconds")

    if not config.image_name:
        bad("image_name", "is required")
    elif len(config.image_name) > 60:
        bad("image_name", "must be at most 60 characters")
    if len(config.image_description) > 60:
        bad("image_description", "must be at most 60 characters")
    for acct in config.image_share_accounts:
        if not acct.isdigit():
            bad("image_share_accounts", f"{acct!r} is not an account id (digits)")

    if not config.instance_type:
        bad("instance_type", "is required, e.g. S5.MEDIUM2")
    if not config.source_image_id and not config.source_image_name:
        bad("source_image_id", "one of source_image_id or source_image_name is required")
    source_id = config.source_image_id
    # channel:CHANNEL/BUILD is resolved in the image registry at plan time.
    if source_id and not (_IMAGE_ID.fullmatch(source_id) or source_id.startswith("channel:")):
        bad("source_image_id", f"{source_id!r} does not look like img-xxxxxxxx or "
            "channel:CHANNEL/BUILD")
    if config.source_image_name:
        try:
            re.compile(config.source_image_name)
        except re.error as exc:
            bad("source_image_name", f"invalid regular expression: {exc}")
    if config.instance_charge_type not in CHARGE_TYPES:
        bad("instance_charge_type", "must be one of " + ", ".join(CHARGE_TYPES))
    if config.disk_type not in DISK_TYPES:
        bad("disk_type", "must be one of " + ", ".join(DISK_TYPES))
    for i, disk in enumerate(config.data_disks):
        if disk.disk_type and disk.disk_type not in DISK_TYPES:
            bad(f"data_disks[{i}].disk_type", "must be one of " + ", ".join(DISK_TYPES))
        if disk.disk_size <= 0 and not disk.disk_snapshot_id:
            bad(f"data_disks[{i}].disk_size", "must be positive")
    if config.disk_size <= 0:
        bad("disk_size", "must be positive")
    if config.subnet_id and not config.vpc_id:
        bad("subnet_id", "needs vpc_id")
    if config.vpc_id and not config.subnet_id and not config.subnet_cidr_block:
        bad("subnet_cidr_block", "with vpc_id, set subnet_id or subnet_cidr_block")
    for name in ("cidr_block", "subnet_cidr_block"):
        value = getattr(config, name)
        if value and not _is_network(value):
            bad(name, f"{value!r} is not a CIDR block")
    if _is_network(config.cidr_block) and _is_network(config.subnet_cidr_block):
        outer = ipaddress.ip_network(config.cidr_block, strict=False)
        inner = ipaddress.ip_network(config.subnet_cidr_block, strict=False)
        if inner.version != outer.version or not inner.subnet_of(outer):  # type: ignore[arg-type]
            bad("subnet_cidr_block", "is not inside cidr_block")
    for cidr in config.temporary_security_group_source_cidrs:
        if not _is_network(cidr):
            bad("temporary_security_group_source_cidrs", f"{cidr!r} is not a CIDR block")
    if config.internet_charge_type and config.internet_charge_type not in INTERNET_CHARGE_TYPES:
        bad("internet_charge_type", "must be one of " + ", ".join(INTERNET_CHARGE_TYPES))
    if config.internet_charge_type == "BANDWIDTH_PACKAGE" and not config.bandwidth_package_id:
        bad("bandwidth_package_id", "is required with internet_charge_type BANDWIDTH_PACKAGE")
    if config.user_data and config.user_data_file:
        bad("user_data_file", "user_data and user_data_file are mutually exclusive")

    if config.communicator not in ("ssh", "none"):
        bad("communicator", f"{config.communicator!r} is not supported (ssh or none)")
    if not config.ssh_username and config.communicator == "ssh":
        bad("ssh_username", "is required")
    if not 0 < config.ssh_port < 65536:
        bad("ssh_port", "must be a TCP port")
    if config.ssh_keypair_name and not config.ssh_keypair_name.startswith("skey-"):
        bad("ssh_keypair_name", "must be a key pair id (skey-...), as RunInstances needs")
    if config.ssh_keypair_name and not (config.ssh_private_key_file or config.ssh_agent_auth):
        bad("ssh_private_key_file", "ssh_keypair_name needs ssh_private_key_file or ssh_agent_auth")
    if config.temporary_key_pair_name and not _KEY_NAME.fullmatch(config.temporary_key_pair_name):
        bad("temporary_key_pair_name", "at most 25 letters, digits or _")
    for name in ("instance_ready_timeout", "image_ready_timeout", "image_copy_timeout",
                 "ssh_timeout", "api_retry_timeout", "max_build_time"):  # fmt: skip
        if getattr(config, name) <= 0:
            bad(name, "must be positive")
    return [*issues, *_file_issues(config)] if with_files else issues


def _file_issues(config: TencentCvmConfig) -> list[tuple[str, str]]:
    issues = []
    if config.user_data_file and not Path(config.user_data_file).is_file():
        issues.append(("user_data_file", f"{config.user_data_file} does not exist"))
    key_file = Path(config.ssh_private_key_file).expanduser()
    if config.ssh_private_key_file and not key_file.is_file():
        issues.append(("ssh_private_key_file", f"{config.ssh_private_key_file} does not exist"))
    return issues


def _is_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value
