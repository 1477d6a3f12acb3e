"""Builders and provisioners by type name, built-ins registered the way plugins are.

Third parties add entry points in the groups ``bakeansible.builders`` and
``bakeansible.provisioners``; built-ins are listed here too so bake works from a source tree.
Nothing is imported until a type is asked for.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

BUILTIN_BUILDERS = {
    "local": "bakeansible.builders.local.builder:LocalBuilder",
    "tencentcloud-cvm": "bakeansible.builders.tencentcloud.builder:TencentCvmBuilder",
}
BUILTIN_PROVISIONERS = {
    "ansible": "bakeansible.provisioners.ansible:AnsibleProvisioner",
    "shell": "bakeansible.provisioners.shell:ShellProvisioner",
}


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _table(group: str, builtins: dict[str, str]) -> dict[str, str]:
    table = dict(builtins)
    for ep in entry_points(group=group):
        table.setdefault(ep.name, ep.value)
    return table


def builder_types() -> list[str]:
    return sorted(_table("bakeansible.builders", BUILTIN_BUILDERS))


def provisioner_types() -> list[str]:
    return sorted(_table("bakeansible.provisioners", BUILTIN_PROVISIONERS))


def builder_class(type_name: str) -> Any:
    """The builder class for ``type_name`` (has ``config_class`` and ``steps()``)."""
    return _load(_table("bakeansible.builders", BUILTIN_BUILDERS)[type_name])


def provisioner_class(type_name: str) -> Any:
    """The provisioner class for ``type_name`` (has ``config_class`` and ``provision()``)."""
    return _load(_table("bakeansible.provisioners", BUILTIN_PROVISIONERS)[type_name])
