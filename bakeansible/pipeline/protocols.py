"""What the engine calls: the protocols builders, provisioners and post-processors implement.

The pipeline owns these; builder and provisioner packages import them, never the other way round.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from bakeansible.config.model import BuildSpec, PostProcessorSpec, ProvisionerSpec
from bakeansible.pipeline.context import Artifact, BuildContext
from bakeansible.pipeline.previous import ImageCheck, PreviousImage
from bakeansible.pipeline.step import Step

if TYPE_CHECKING:
    from bakeansible.communicators.ssh import SshCommunicator

C = TypeVar("C", bound=BuildContext)


class Builder(Protocol[C]):
    """A builder type. ``config_class`` is its frozen options dataclass.

    The engine calls ``preflight``, then per build ``new_context`` and ``steps`` with the context
    it returned: what the steps need from the run (ids, resolved access) comes through it.
    """

    type_name: ClassVar[str]
    config_class: ClassVar[type[Any]]

    def __init__(self, spec: BuildSpec, project_dir: Path | None = None) -> None: ...

    def preflight(self, force: bool = False) -> None:
        """Check the host and the config before any side effect; raise PreflightError."""

    @property
    def output_dir(self) -> Path:
        """Where the build writes its artifacts, run directories and default manifest."""

    def source_identity(self) -> str:
        """What the build starts from, for the input fingerprint."""

    def existing_image(self, image: PreviousImage) -> ImageCheck:
        """Whether an image an earlier bake of this build made still exists intact, and the
        artifact to reuse if so. Reads only (a Describe call at most): incremental bakes."""

    def is_own_image(self, image: PreviousImage) -> bool:
        """Whether an image an earlier bake recorded under this build's name is this build's:
        a build of the same name in another project (another output directory) is not."""

    def find_image(self, fingerprint: str) -> PreviousImage | None:
        """An image with this input fingerprint that no local record knows of (a cloud image
        tagged with it), or None."""

    def new_context(self, base: BuildContext) -> C:
        """The builder's own context type, filled from the common one."""

    def steps(self, ctx: C) -> list[Step[Any]]:
        """The whole build for ``ctx`` (made by ``new_context``), as one flat list of steps."""


class Provisioner(Protocol):
    """A provisioner type. ``config_class`` is its frozen options dataclass."""

    type_name: ClassVar[str]
    config_class: ClassVar[type[Any]]
    #: Whether it can run in check mode (``bake build -check``); if not, check mode skips it.
    supports_check_mode: ClassVar[bool]
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


class PostProcessor(Protocol):
    """A post-processor type. ``config_class`` is its frozen options dataclass."""

    type_name: ClassVar[str]
    config_class: ClassVar[type[Any]]

    def __init__(self, spec: PostProcessorSpec, project_dir: Path) -> None: ...

    def post_process(self, ctx: BuildContext, artifact: Artifact, run_uuid: str) -> None:
        """Act on a finished build's artifact; files it writes go into ``artifact.files``."""
