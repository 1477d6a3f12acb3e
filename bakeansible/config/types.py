"""Which config dataclass decodes which ``type``, without importing builders or provisioners.

Builders and provisioners come from ``bakeansible.registry`` (their options dataclasses live in
light modules of their own); post-processors are listed here. A type whose module is missing
(not written or not installed) counts as unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bakeansible.registry import Kind, config_ref, load_config_class, load_ref, plugins

_KINDS: dict[str, Kind] = {"builder": "builder", "provisioner": "provisioner"}
POST_PROCESSOR_CONFIGS = {
    "manifest": "bakeansible.config.postprocessors:ManifestConfig",
    "checksum": "bakeansible.config.postprocessors:ChecksumConfig",
}


def _safely(load: Callable[[], Any]) -> type[Any] | None:
    try:
        cls = load()
    except (ImportError, AttributeError, KeyError):
        return None
    return cls if isinstance(cls, type) else None


def builder_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of builder ``type_name``, or None when the type is unknown."""
    return _safely(lambda: load_config_class("builder", type_name))


def provisioner_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of provisioner ``type_name``, or None when the type is unknown."""
    return _safely(lambda: load_config_class("provisioner", type_name))


def post_processor_config_class(type_name: str) -> type[Any] | None:
    """The options dataclass of post-processor ``type_name``, or None when it is unknown."""
    return _safely(lambda: load_ref(POST_PROCESSOR_CONFIGS[type_name]))


def missing_module(what: str, type_name: str) -> str | None:
    """For a type bake knows of but cannot load: the module that failed to import."""
    if what == "post-processor":
        ref = POST_PROCESSOR_CONFIGS.get(type_name)
        loaded = post_processor_config_class(type_name)
    elif (kind := _KINDS.get(what)) is not None:
        ref = config_ref(kind, type_name)
        loaded = _safely(lambda: load_config_class(kind, type_name))
    else:
        return None
    if ref is not None and loaded is None:
        return ref.partition(":")[0]
    return None


def builder_type_names() -> list[str]:
    """Builder types whose config can be loaded right now."""
    return [t for t in plugins("builder") if builder_config_class(t) is not None]


def provisioner_type_names() -> list[str]:
    return [t for t in plugins("provisioner") if provisioner_config_class(t) is not None]


def post_processor_type_names() -> list[str]:
    return list(POST_PROCESSOR_CONFIGS)
