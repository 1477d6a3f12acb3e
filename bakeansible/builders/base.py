"""What every builder provides to the build runner."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

from bakeansible.config.model import BuildSpec, ProvisionerSpec
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.step import Step


class Builder(Protocol):
    """A builder type. ``config_class`` is its frozen options dataclass."""

    type_name: ClassVar[str]
    config_class: ClassVar[type[Any]]

    def __init__(
        self,
        spec: BuildSpec,
        provisioners: Sequence[ProvisionerSpec] | None = None,
        project_dir: Path | None = None,
    ) -> None: ...

    def preflight(self, force: bool = False) -> None:
        """Check the host and the config before any side effect; raise PreflightError."""

    def source_identity(self) -> str:
        """What the build starts from, for the input fingerprint."""

    def new_context(self, base: BuildContext) -> BuildContext:
        """The builder's own context type, filled from the common one."""

    def steps(self) -> list[Step[Any]]:
        """The whole build, as one flat list of steps."""
