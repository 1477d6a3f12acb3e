"""Which config dataclass decodes which ``type``, without importing builders or provisioners.

Builder and provisioner modules pull in paramiko, ansible-runner or the Tencent SDK; decoding a
template needs only their option dataclasses, so this table names those and imports them on
demand. A type whose module is missing (not written or not installed) counts as unknown.
"""

from __future__ import annotations

import importlib
from typing import Any

BUILDER_CONFIGS = {
    "local": "bakeansible.builders.local.config:LocalConfig",
    "tencentcloud-cvm": "bakeansible.builders.tencentcloud.config:TencentCvmConfig",
}
PROVISIONER_CONFIGS = {
    "ansible": "bakeansible.provisioners.config:AnsibleConfig",
    "shell": "bakeansible.provisioners.config:ShellConfig",
}
POST_PROCESSOR_CONFIGS = {
    "manifest": "bakeansible.config.postprocessors:ManifestConfig",
    "checksum": "bakeansible.config.postprocessors:ChecksumConfig",
}


def _load(table: dict[str, str], type_name: str) -> type[Any] | None:
    ref = table.get(type_name)
    if ref is None:
        return None
    module, _, attr = ref.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None
    return cls if isinstance(cls, type) else None


def builder_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of builder ``type_name``, or None when the type is unknown."""
    return _load(BUILDER_CONFIGS, type_name)


def provisioner_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of provisioner ``type_name``, or None when the type is unknown."""
    return _load(PROVISIONER_CONFIGS, type_name)


def post_processor_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of post-processor ``type_name``, or None when it is unknown."""
    return _load(POST_PROCESSOR_CONFIGS, type_name)


def missing_module(what: str, type_name: str) -> str | None:
    """For a type bake knows of but cannot load: the module that failed to import."""
    table = {
        "builder": BUILDER_CONFIGS,
        "provisioner": PROVISIONER_CONFIGS,
        "post-processor": POST_PROCESSOR_CONFIGS,
    }[what]
    if type_name in table and _load(table, type_name) is None:
        return table[type_name].partition(":")[0]
    return None


def builder_type_names() -> list[str]:
    """Builder types whose config can be loaded right now."""
    return [t for t in BUILDER_CONFIGS if builder_config_class(t) is not None]


def provisioner_type_names() -> list[str]:
    return [t for t in PROVISIONER_CONFIGS if provisioner_config_class(t) is not None]


def post_processor_type_names() -> list[str]:
    return list(POST_PROCESSOR_CONFIGS)
