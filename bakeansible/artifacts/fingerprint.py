"""The input fingerprint of a build: one sha256 over everything that decides what it bakes.

``fingerprint_inputs`` returns the digest and its parts, one digest per input, named so that a
person can read a difference: ``file:roles/nginx/templates/site.conf.j2``, ``var:nginx_port``
(an Ansible extra var), ``option:builder.extra_packages``, ``option:ansible.groups``, ``source``
(the source image's identity). The digest is the sha256 of the parts, so two bakes with the same
digest had the same inputs, and ``bake plan`` names the parts that differ.

What never changes the result is left out: where the image goes and what it is called
(``image_name``, often with ``{{timestamp}}``; ``output_dir``), timeouts, how bake connects and
the temporary resources' names, credentials, log verbosity. Options left at their default are
left out too, so a bake version that adds an option does not change every fingerprint. Values
holding a secret are hashed slowly (PBKDF2), never kept in clear.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from bakeansible.artifacts.checksum import file_digest
from bakeansible.artifacts.inputs import input_files, provisioner_inputs
from bakeansible.config.fields import field_secret
from bakeansible.config.model import BuildSpec

__all__ = ["build_fingerprint", "digest_of_parts", "fingerprint_inputs", "input_files"]

# Builder options that never change what is baked: naming, placement, waiting, connecting,
# temporary resources, credentials and where the API is.
BUILDER_NOT_INPUTS = frozenset({
    "source", "source_image_id", "source_image_name",  # the "source" part identifies the source
    "image_name", "image_description", "output_dir", "compression_level", "max_build_time",
    "ssh_timeout", "boot_timeout", "shutdown_timeout", "instance_ready_timeout",
    "image_ready_timeout", "image_copy_timeout", "api_retry_timeout",
    "ssh_agent_auth", "ssh_private_key_file", "ssh_keypair_name", "ssh_host", "ssh_port",
    "ssh_private_ip", "temporary_key_pair_name", "temporary_security_group_source_cidrs",
    "instance_name", "vpc_id", "vpc_name", "cidr_block", "subnet_id", "subnet_name",
    "subnet_cidr_block", "security_group_id", "security_group_name",
    "associate_public_ip_address", "internet_charge_type", "internet_max_bandwidth_out",
    "bandwidth_package_id", "instance_charge_type", "run_tags", "run_tag",
    "endpoint", "cvm_endpoint", "vpc_endpoint", "assume_role", "profile",
    "shared_credentials_dir", "skip_region_validation", "winrm_username",
})  # fmt: skip
PROVISIONER_NOT_INPUTS = frozenset({
    "verbosity", "keep_inventory_file", "use_proxy", "galaxy_command", "extra_vars",
})  # fmt: skip

# Salt of the slow hash of secret values: fixed, so that equal inputs give equal digests.
_SECRET_SALT = b"bakeansible input fingerprint"


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _digest(value: Any, secrets: Collection[str]) -> str:
    text = json.dumps(_jsonable(value), sort_keys=True)
    if any(s and s in text for s in secrets):
        slow = hashlib.pbkdf2_hmac("sha256", text.encode(), _SECRET_SALT, 200_000)
        return "pbkdf2:" + slow.hex()
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _option_parts(
    prefix: str, config: Any, skip: frozenset[str], secrets: Collection[str]
) -> dict[str, str]:
    """One part per option that is set to something other than its default."""
    if not dataclasses.is_dataclass(config):
        return {f"option:{prefix}": _digest(config, secrets)}
    parts = {}
    for f in dataclasses.fields(config):
        if f.name in skip or field_secret(f) or not f.init:
            continue
        value = getattr(config, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        parts[f"option:{prefix}.{f.name}"] = _digest(value, secrets)
    return parts


def _relative(path: Path, project_dir: Path) -> str:
    try:
        return str(path.relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


def fingerprint_inputs(
    spec: BuildSpec,
    project_dir: Path,
    source_identity: str,
    secrets: Collection[str] = (),
) -> tuple[str, dict[str, str]]:
    """(digest, parts) of the build's inputs; ``secrets`` are the values never kept in clear."""
    parts: dict[str, str] = {
        "source": source_identity,
        "option:builder.type": spec.type,
        **_option_parts("builder", spec.config, BUILDER_NOT_INPUTS, secrets),
        "option:provisioners": ",".join(p.type for p in spec.provisioners),
    }
    seen: dict[str, int] = {}
    for prov in spec.provisioners:
        seen[prov.type] = seen.get(prov.type, 0) + 1
        label = prov.type if seen[prov.type] == 1 else f"{prov.type}#{seen[prov.type]}"
        parts.update(_option_parts(label, prov.config, PROVISIONER_NOT_INPUTS, secrets))
        var_prefix = "var:" if seen[prov.type] == 1 else f"var:{label}:"
        for name, value in (getattr(prov.config, "extra_vars", None) or {}).items():
            parts[f"{var_prefix}{name}"] = _digest(value, secrets)
    inputs = provisioner_inputs(spec, project_dir)
    for path in inputs.files:
        parts[f"file:{_relative(path, project_dir)}"] = "sha256:" + file_digest(path)
    for name, identity in inputs.collections.items():
        parts[f"collection:{name}"] = identity
    return digest_of_parts(parts), parts


def digest_of_parts(parts: dict[str, str]) -> str:
    """The fingerprint of a set of parts."""
    text = json.dumps(parts, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def build_fingerprint(spec: BuildSpec, project_dir: Path, source_identity: str) -> str:
    """The digest of ``fingerprint_inputs`` alone."""
    return fingerprint_inputs(spec, project_dir, source_identity)[0]
