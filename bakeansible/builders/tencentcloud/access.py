"""Everything a build resolves about API access before its first call, in one place.

Region, endpoints, credentials and the assume-role settings come from the template, the
environment and the tccli profile files, exactly as the build will use them; nothing here calls
the network. ``bake validate`` (through ``TencentCvmConfig.environment_issues``) and the
builder's preflight both call ``check_access``, so they cannot disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bakeansible.builders.tencentcloud.credentials import (
    AccessSettings,
    Credentials,
    RoleSettings,
    find_credentials,
    find_role,
    resolve_endpoints,
    resolve_region,
)
from bakeansible.builders.tencentcloud.regions import check_regions
from bakeansible.errors import ConfigError

if TYPE_CHECKING:
    from bakeansible.builders.tencentcloud.config import TencentCvmConfig


@dataclass(frozen=True)
class AccessCheck:
    """The outcome: what was resolved, (field, message) issues, and warnings to show."""

    access: AccessSettings
    credentials: Credentials | None
    role: RoleSettings | None
    issues: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.issues and self.credentials is not None


def check_access(config: TencentCvmConfig, env: Mapping[str, str] | None = None) -> AccessCheck:
    """Resolve and check region, zone, copy regions, endpoints, credentials and assume-role."""
    env = os.environ if env is None else env
    issues: list[tuple[str, str]] = []
    try:
        region = resolve_region(
            config.region, profile=config.profile,
            shared_credentials_dir=config.shared_credentials_dir, env=env,
        )  # fmt: skip
    except ConfigError as exc:
        region = ""
        issues += [("profile", f"{i.message} ({i.file})") for i in exc.issues]
    cvm, vpc = resolve_endpoints(config.endpoint, config.cvm_endpoint, config.vpc_endpoint, env)
    access = AccessSettings(region, cvm, vpc, config.profile, config.shared_credentials_dir)
    creds, problems = find_credentials(
        config.secret_id, config.secret_key, config.security_token, profile=config.profile,
        shared_credentials_dir=config.shared_credentials_dir, env=env,
    )  # fmt: skip
    issues += problems
    role = config.assume_role
    role_settings, problems = find_role(
        role.role_arn, role.session_name, role.session_duration, env
    )
    issues += problems
    if config.skip_region_validation:
        lenient = "skip_region_validation is set"
    elif cvm:
        # Packer skips the check with a custom endpoint: it may serve other regions.
        lenient = f"the API endpoint is {cvm}"
    else:
        lenient = ""
    if region or not any(f == "profile" for f, _ in issues):
        region_issues, warnings = check_regions(
            region, config.zone, config.copy_regions(region), lenient_because=lenient
        )
        issues += region_issues
    else:
        warnings = []
    return AccessCheck(access, creds, role_settings, tuple(issues), tuple(warnings))
