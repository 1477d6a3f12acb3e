"""Builders, provisioners and post-processors by type name: the one table of plugin types.

Each type names its runtime class and its options dataclass separately, so decoding a template
imports only the light config modules, never paramiko, ansible-runner or the Tencent SDK.
Third parties add entry points in the groups of ``GROUPS`` (pointing at the runtime class, whose
``config_class`` gives the options). The built-ins are declared the same way in pyproject.toml;
``BUILTINS`` repeats them (with the light config refs) so that bake also runs from a source
checkout that was never installed, and a test keeps the two equal. Nothing is imported until a
type is asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal

Kind = Literal["builder", "provisioner", "post-processor"]


@dataclass(frozen=True)
class PluginRef:
    """Where a type's classes live, as ``module:attribute`` references."""

    runtime: str
    config: str = ""  # empty for entry-point plugins: the runtime class's config_class


BUILTINS: dict[Kind, dict[str, PluginRef]] = {
    "builder": {
        "local": PluginRef(
            "bakeansible.builders.local.builder:LocalBuilder",
            "bakeansible.builders.local.config:LocalConfig",
        ),
        "tencentcloud-cvm": PluginRef(
            "bakeansible.builders.tencentcloud.builder:TencentCvmBuilder",
            "bakeansible.builders.tencentcloud.config:TencentCvmConfig",
        ),
    },
    "provisioner": {
        "ansible": PluginRef(
            "bakeansible.provisioners.ansible:AnsibleProvisioner",
            "bakeansible.provisioners.config:AnsibleConfig",
        ),
        "shell": PluginRef(
            "bakeansible.provisioners.shell:ShellProvisioner",
            "bakeansible.provisioners.config:ShellConfig",
        ),
    },
    "post-processor": {
        "manifest": PluginRef(
            "bakeansible.artifacts.manifest:ManifestPostProcessor",
            "bakeansible.config.postprocessors:ManifestConfig",
        ),
        "checksum": PluginRef(
            "bakeansible.artifacts.checksum:ChecksumPostProcessor",
            "bakeansible.config.postprocessors:ChecksumConfig",
        ),
    },
}
GROUPS: dict[Kind, str] = {
    "builder": "bakeansible.builders",
    "provisioner": "bakeansible.provisioners",
    "post-processor": "bakeansible.post_processors",
}


def load_ref(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def plugins(kind: Kind) -> dict[str, PluginRef]:
    """Every known type of ``kind``: built-ins first, then installed entry points."""
    table = dict(BUILTINS[kind])
    for ep in entry_points(group=GROUPS[kind]):
        table.setdefault(ep.name, PluginRef(ep.value))
    return table


def config_ref(kind: Kind, type_name: str) -> str | None:
    """The module:attribute of a type's options dataclass (None for unknown types)."""
    ref = plugins(kind).get(type_name)
    if ref is None:
        return None
    return ref.config or f"{ref.runtime}.config_class"


def load_config_class(kind: Kind, type_name: str) -> Any:
    """A type's options dataclass; raises ImportError/AttributeError if it cannot load."""
    ref = plugins(kind)[type_name]
    if ref.config:
        return load_ref(ref.config)
    return load_ref(ref.runtime).config_class


def builder_class(type_name: str) -> Any:
    """The builder class for ``type_name`` (has ``config_class`` and ``steps()``)."""
    return load_ref(plugins("builder")[type_name].runtime)


def provisioner_class(type_name: str) -> Any:
    """The provisioner class for ``type_name`` (has ``config_class`` and ``provision()``)."""
    return load_ref(plugins("provisioner")[type_name].runtime)


def post_processor_class(type_name: str) -> Any:
    """The post-processor class for ``type_name`` (has ``config_class`` and ``post_process()``)."""
    return load_ref(plugins("post-processor")[type_name].runtime)
