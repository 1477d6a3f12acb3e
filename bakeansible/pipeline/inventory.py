"""The builder's hook for the Ansible inventory of the instance it made.

A builder that has its own way for Ansible to find the instance (Tencent: the ``bake_cvm``
dynamic inventory filtered to the build's tag) puts an ``InventorySource`` on
``BuildContext.inventory``; the provisioner asks it and knows no builder. Without one (or when
it answers None) the provisioner writes the static inventory from ``ctx.ssh``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bakeansible.pipeline.context import BuildContext


@dataclass(frozen=True)
class BuildInventory:
    """An inventory file and the environment Ansible needs to read it."""

    path: Path
    #: Passed to ansible-runner (e.g. the plugin path and the credentials it reads).
    env: dict[str, str] = field(repr=False)
    #: Values in ``env`` the build must mask in its output.
    secrets: tuple[str, ...] = field(default=(), repr=False)


class InventorySource(Protocol):
    """Writes the inventory for the build's instance."""

    def write_inventory(
        self,
        ctx: BuildContext,
        directory: Path,
        *,
        groups: Sequence[str],
        user: str | None,
        host_alias: str = "",
    ) -> BuildInventory | None:
        """Write the inventory under ``directory`` putting the host in ``groups`` (login as
        ``user`` when given), named ``host_alias`` when the source can name it so; None to fall
        back to the static inventory from ``ctx.ssh``."""
        ...
