"""Where the API credentials and the region come from: config, environment, tccli profile.

Order, per value: the template's field, then the environment, then ``<dir>/<profile>.credential``
(JSON ``secretId``/``secretKey``/``token``) and ``<dir>/<profile>.configure``
(``_sys_param.region``). Packer's env-var bugs are not copied: the token env var is read whenever
the field is empty, and the assume-role session name goes to the session name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakeansible.errors import ConfigError, ConfigIssue

ENV_SECRET_ID = ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_ACCESS_KEY")
ENV_SECRET_KEY = ("TENCENTCLOUD_SECRET_KEY",)
ENV_TOKEN = ("TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_SECURITY_TOKEN", "TENCENTCLOUD_TOKEN")
ENV_REGION = ("TENCENTCLOUD_REGION",)
ENV_ENDPOINT = ("TENCENTCLOUD_ENDPOINT",)


@dataclass(frozen=True)
class Credentials:
    """A resolved API key; ``repr`` never shows the secret parts."""

    secret_id: str = field(repr=False)
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = "config"


@dataclass(frozen=True)
class AccessSettings:
    """How to reach the API: region, endpoints, and where credentials are looked up.

    ``journal_data`` is what a later ``bake cleanup`` process stores and needs: no secrets, it
    resolves the credentials again from the environment or the profile.
    """

    region: str
    cvm_endpoint: str = ""
    vpc_endpoint: str = ""
    profile: str = ""
    shared_credentials_dir: str = ""

    def journal_data(self) -> dict[str, str]:
        data = {"region": self.region}
        for key in ("cvm_endpoint", "vpc_endpoint", "profile", "shared_credentials_dir"):
            if value := getattr(self, key):
                data[key] = value
        return data

    @classmethod
    def from_journal(cls, data: Mapping[str, Any]) -> AccessSettings:
        return cls(
            region=str(data["region"]),
            cvm_endpoint=str(data.get("cvm_endpoint", "")),
            vpc_endpoint=str(data.get("vpc_endpoint", "")),
            profile=str(data.get("profile", "")),
            shared_credentials_dir=str(data.get("shared_credentials_dir", "")),
        )

    def in_region(self, region: str) -> AccessSettings:
        return AccessSettings(
            region, self.cvm_endpoint, self.vpc_endpoint, self.profile, self.shared_credentials_dir
        )


def _env(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        if value := env.get(name, "").strip():
            return value
    return ""


def profile_name(profile: str, env: Mapping[str, str]) -> str:
    return profile or env.get("TENCENTCLOUD_PROFILE", "") or "default"


def credentials_dir(directory: str, env: Mapping[str, str]) -> Path:
    value = directory or env.get("TENCENTCLOUD_SHARED_CREDENTIALS_DIR", "") or "~/.tccli"
    return Path(value).expanduser()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            [ConfigIssue(str(path), "", f"cannot read the tccli profile: {exc}")]
        ) from exc
    return data if isinstance(data, dict) else {}


def find_credentials(
    secret_id: str = "",
    secret_key: str = "",
    security_token: str = "",
    *,
    profile: str = "",
    shared_credentials_dir: str = "",
    env: Mapping[str, str] | None = None,
) -> tuple[Credentials | None, list[tuple[str, str]]]:
    """The API key from the config, else the environment, else the tccli profile; no network.

    Returns (credentials, []) or (None, [(field, message), ...]) saying where bake looked.
    """
    env = os.environ if env is None else env
    source = "config"
    sid, skey, token = secret_id, secret_key, security_token
    if not sid or not skey:
        env_id, env_key = _env(env, ENV_SECRET_ID), _env(env, ENV_SECRET_KEY)
        if env_id and env_key:
            sid, skey, source = sid or env_id, skey or env_key, "environment"
    if not token:
        token = _env(env, ENV_TOKEN)
    name = profile_name(profile, env)
    path = credentials_dir(shared_credentials_dir, env) / f"{name}.credential"
    if not sid or not skey:
        try:
            data = _read_json(path)
        except ConfigError as exc:
            return None, [("profile", i.message + f" ({i.file})") for i in exc.issues]
        if data:
            sid = sid or str(data.get("secretId", ""))
            skey = skey or str(data.get("secretKey", ""))
            token = token or str(data.get("token", "") or data.get("securityToken", ""))
            source = f"tccli profile {name}"
    issues = []
    looked = f"not in the template, the environment or the tccli profile {path}"
    if not sid:
        issues.append(("secret_id", f"is required ({looked}); set secret_id, env "
                       "TENCENTCLOUD_SECRET_ID (or TENCENTCLOUD_ACCESS_KEY) or the profile"))
    if not skey:
        issues.append(("secret_key", f"is required ({looked}); set secret_key, env "
                       "TENCENTCLOUD_SECRET_KEY or the profile"))
    if issues:
        return None, issues
    return Credentials(sid, skey, token or None, source), []


def resolve_credentials(
    secret_id: str = "",
    secret_key: str = "",
    security_token: str = "",
    *,
    profile: str = "",
    shared_credentials_dir: str = "",
    env: Mapping[str, str] | None = None,
) -> Credentials:
    """``find_credentials``, raising ConfigError naming the fields when something is missing."""
    creds, problems = find_credentials(
        secret_id, secret_key, security_token, profile=profile,
        shared_credentials_dir=shared_credentials_dir, env=env,
    )  # fmt: skip
    if creds is None:
        raise ConfigError(
            [ConfigIssue("<template>", f, m) for f, m in problems],
            hint="Set secret_id/secret_key, or TENCENTCLOUD_SECRET_ID and "
            "TENCENTCLOUD_SECRET_KEY, or a tccli profile (~/.tccli/<profile>.credential).",
        )
    return creds


@dataclass(frozen=True)
class RoleSettings:
    """What StepAssumeRole needs: from the ``assume_role`` block, else its env vars."""

    role_arn: str
    session_name: str
    duration: int


def find_role(
    role_arn: str, session_name: str, session_duration: int, env: Mapping[str, str]
) -> tuple[RoleSettings | None, list[tuple[str, str]]]:
    """The assume-role settings (None when no role is asked for) and (field, message) issues."""
    arn = role_arn or env.get("TENCENTCLOUD_ASSUME_ROLE_ARN", "").strip()
    session = session_name or env.get("TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME", "").strip()
    if not arn and not session:
        return None, []
    issues: list[tuple[str, str]] = []
    if not arn:
        issues.append(("assume_role.role_arn", "is required with a session name "
                       "(or env TENCENTCLOUD_ASSUME_ROLE_ARN)"))  # fmt: skip
    if not session:
        issues.append(("assume_role.session_name", "is required with a role ARN "
                       "(or env TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME)"))  # fmt: skip
    duration = session_duration
    raw = env.get("TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION", "").strip()
    if not duration and raw:
        if raw.isdigit() and 0 < int(raw) <= 43200:
            duration = int(raw)
        else:
            issues.append(("assume_role.session_duration", "env "
                           f"TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION={raw!r} is not a number "
                           "of seconds between 1 and 43200"))  # fmt: skip
    if issues:
        return None, issues
    return RoleSettings(arn, session, duration or 7200), []


def resolve_region(
    region: str,
    *,
    profile: str = "",
    shared_credentials_dir: str = "",
    env: Mapping[str, str] | None = None,
) -> str:
    """The region from the config, else env TENCENTCLOUD_REGION, else the profile."""
    env = os.environ if env is None else env
    if region:
        return region
    if value := _env(env, ENV_REGION):
        return value
    name = profile_name(profile, env)
    data = _read_json(credentials_dir(shared_credentials_dir, env) / f"{name}.configure")
    sys_param = data.get("_sys_param", {})
    return str(sys_param.get("region", "")) if isinstance(sys_param, dict) else ""


def resolve_endpoints(
    endpoint: str, cvm_endpoint: str, vpc_endpoint: str, env: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """(cvm, vpc) endpoints: the specific fields, else ``endpoint``, else TENCENTCLOUD_ENDPOINT."""
    env = os.environ if env is None else env
    common = endpoint or _env(env, ENV_ENDPOINT)
    return cvm_endpoint or common, vpc_endpoint or common
