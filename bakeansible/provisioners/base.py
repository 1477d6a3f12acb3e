"""What every provisioner provides."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol

from bakeansible.communicators.ssh import SshCommunicator
from bakeansible.config.model import ProvisionerSpec
from bakeansible.pipeline.context import BuildContext


class Provisioner(Protocol):
    """A provisioner type. ``config_class`` is its frozen options dataclass."""

    type_name: ClassVar[str]
    config_class: ClassVar[type[Any]]
    spec: ProvisionerSpec

    def __init__(self, spec: ProvisionerSpec, project_dir: Path) -> None: ...

    def describe(self) -> str:
        """One line for the step header, e.g. "Provisioning with Ansible: playbooks/site.yml"."""

    def validate(self) -> None:
        """Check inputs (files exist, playbook parses) before any side effect; raise BakeError."""

    def prepare(self, ctx: BuildContext) -> None:
        """Fetch what the run needs on the host (galaxy_file), before any instance exists."""

    def release(self, ctx: BuildContext) -> None:
        """Remove what prepare() created; never raises."""

    def provision(self, ctx: BuildContext, comm: SshCommunicator, deadline: float | None) -> None:
        """Configure the instance; ``deadline`` is a time.monotonic() bound for this attempt."""
