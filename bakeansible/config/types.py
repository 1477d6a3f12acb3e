"""Which config dataclass decodes which ``type``, without importing the plugins themselves.

Builders, provisioners and post-processors come from ``bakeansible.registry`` (their options
dataclasses live in light modules of their own). A type whose module is missing (not written or
not installed) counts as unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bakeansible.registry import GROUPS, Kind, config_ref, load_config_class, plugins


def _safely(load: Callable[[], Any]) -> type[Any] | None:
    try:
        cls = load()
    except (ImportError, AttributeError, KeyError):
        return None
    return cls if isinstance(cls, type) else None


def config_class(kind: Kind, type_name: str) -> type[Any] | None:
    """The options dataclass of ``type_name``, or None when the type is unknown."""
    return _safely(lambda: load_config_class(kind, type_name))


def builder_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of builder ``type_name``, or None when the type is unknown."""
    return config_class("builder", type_name)


def provisioner_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of provisioner ``type_name``, or None when the type is unknown."""
    return config_class("provisioner", type_name)


def post_processor_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of post-processor ``type_name``, or None when it is unknown."""
    return config_class("post-processor", type_name)


def missing_module(what: str, type_name: str) -> str | None:
    """For a type bake knows of but cannot load: the module that failed to import."""
    kind = next((k for k in GROUPS if k == what), None)
    if kind is None:
        return None
    ref = config_ref(kind, type_name)
    if ref is not None and config_class(kind, type_name) is None:
        return ref.partition(":")[0]
    return None


def type_names(kind: Kind) -> list[str]:
    """Types of ``kind`` whose config can be loaded right now."""
    return [t for t in plugins(kind) if config_class(kind, t) is not None]


def builder_type_names() -> list[str]:
    """Builder types whose config can be loaded right now."""
    return type_names("builder")


def provisioner_type_names() -> list[str]:
    return type_names("provisioner")


def post_processor_type_names() -> list[str]:
    return type_names("post-processor")
