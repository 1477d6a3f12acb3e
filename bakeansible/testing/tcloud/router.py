"""The action table: which service and schema each action has, and its handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from bakeansible.testing.tcloud.cloud import Call
from bakeansible.testing.tcloud.params import struct

API_VERSIONS = {"cvm": "2017-03-12", "vpc": "2017-03-12", "sts": "2018-08-13"}

Handler = Callable[[Call], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    """One API action of a service."""

    service: str
    name: str
    schema: dict[str, Any]
    handler: Handler
    needs_region: bool = True


ACTIONS: dict[str, dict[str, Action]] = {service: {} for service in API_VERSIONS}


def action(
    service: str, models: ModuleType, *, needs_region: bool = True, **fields: Any
) -> Callable[[Handler], Handler]:
    """Register a handler named like the action in snake case (``describe_zones``).

    The schema is every field of the SDK's ``<Action>Request`` (accepted, unchecked) overridden
    by ``fields`` (type-checked).
    """

    def register(handler: Handler) -> Handler:
        name = "".join(part.capitalize() for part in handler.__name__.split("_"))
        request_model = getattr(models, f"{name}Request")
        ACTIONS[service][name] = Action(
            service, name, struct(request_model, **fields), handler, needs_region
        )
        return handler

    return register


def find(service: str | None, name: str) -> Action | None:
    """The action, by the signed service when it is one of ours, else by name alone."""
    if service in ACTIONS:
        return ACTIONS[service].get(name)
    for table in ACTIONS.values():
        if name in table:
            return table[name]
    return None
