"""The ``local`` builder: the whole build as one flat list of steps."""

from __future__ import annotations

import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar

from bakeansible.artifacts.checksum import file_digest
from bakeansible.builders.local import rootfs
from bakeansible.builders.local.boot import boot_steps, check_boot, image_instance
from bakeansible.builders.local.config import LocalConfig
from bakeansible.builders.local.existing import check_existing_image
from bakeansible.builders.local.steps import (
    LocalContext,
    StepPowerOff,
    StepRemoveExistingImage,
    StepSnapshot,
)
from bakeansible.communicators.agent import require_agent
from bakeansible.config.model import BuildSpec
from bakeansible.errors import PreflightError
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.previous import ImageCheck, PreviousImage
from bakeansible.pipeline.step import Step
from bakeansible.provisioners.run import (
    StepPrepareProvisioners,
    StepProvision,
    make_provisioners,
)
from bakeansible.provisioners.testphase import StepTestImage, TestInstance, make_checks


class LocalBuilder:
    """Bakes a root filesystem tarball in a systemd-nspawn container."""

    type_name: ClassVar[str] = "local"
    config_class: ClassVar[type[LocalConfig]] = LocalConfig

    def __init__(
        self,
        spec: BuildSpec,
        project_dir: Path | None = None,
    ) -> None:
        self.spec = spec
        self.config: LocalConfig = spec.config
        self.project_dir = project_dir or Path.cwd()
        self.provisioners = make_provisioners(spec.provisioners, self.project_dir)
        self.checks = make_checks(spec.tests, self.project_dir)

    @property
    def output_dir(self) -> Path:
        out = Path(self.config.output_dir).expanduser()
        return out if out.is_absolute() else self.project_dir / out

    @property
    def image_path(self) -> Path:
        return self.output_dir / f"{self.config.image_name}.tar.zst"

    def preflight(self, force: bool = False) -> None:
        """Everything that can be checked before the first side effect."""
        check_boot(self.config, self.project_dir)
        _check_writable(self.output_dir)
        if self.image_path.exists() and not force:
            raise PreflightError(
                f"Image {self.image_path} already exists, and is not up to date.",
                hint="`bake plan` says why; use -force to replace it, or choose another "
                "image_name / --image-name.",
            )
        if self.config.ssh_agent_auth:
            require_agent(f"Build {self.spec.name}")
        for prov in [*self.provisioners, *(c.provisioner for c in self.checks)]:
            prov.validate()

    def source_identity(self) -> str:
        """What the source is, for the input fingerprint: the base's cache key or the
        tarball's digest. The base's identity includes its installed packages' versions, so
        a base rebuilt from newer packages is a new source."""
        if rootfs.is_tarball(self.config.source):
            src = Path(self.config.source).expanduser()
            src = src if src.is_absolute() else self.project_dir / src
            return "tarball:" + file_digest(src) if src.is_file() else "tarball:missing"
        suite = rootfs.parse_debian_source(self.config.source)
        return rootfs.base_identity(suite, self.config.extra_packages, self.config.mirror)

    def existing_image(self, image: PreviousImage) -> ImageCheck:
        """The earlier image file, if it is still there and its sha256 verifies."""
        return check_existing_image(image)

    def is_own_image(self, image: PreviousImage) -> bool:
        """An image file in this build's output directory (the registry is shared by every
        project of the host, and build names such as ``local`` repeat across projects)."""
        path = Path(image.artifact_id)
        path = path if path.is_absolute() else self.output_dir / path
        return path.parent.resolve() == self.output_dir.resolve()

    def find_image(self, fingerprint: str) -> PreviousImage | None:
        """Local images are known only through their records."""
        return None

    def new_context(self, base: BuildContext) -> LocalContext:
        ctx = LocalContext(**{f.name: getattr(base, f.name) for f in fields(BuildContext)})
        ctx.output_dir = self.output_dir
        return ctx

    def steps(self, ctx: LocalContext) -> list[Step[Any]]:
        steps: list[Step[Any]] = [
            StepPrepareProvisioners([*self.provisioners, *(c.provisioner for c in self.checks)]),
            StepRemoveExistingImage(self.image_path),
            *boot_steps(self.config, self.project_dir, package_cache=True),
            StepProvision(self.provisioners, self.config.ssh_timeout),
            StepPowerOff(self.config),
            StepSnapshot(self.config, self.image_path),
        ]
        if self.checks:
            steps.append(StepTestImage(self.checks, self.config.ssh_timeout, self.test_instance))
        return steps

    def test_instance(self, ctx: LocalContext) -> TestInstance:
        """A fresh container of the image the build just wrote, for the test phase."""
        assert ctx.image_path is not None
        return image_instance(
            ctx.image_path, self.config, ctx, self.project_dir, f"{ctx.build_name}-test"
        )


def _check_writable(directory: Path) -> None:
    """The output directory, or its nearest existing parent, must be a writable directory."""
    probe = directory
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise PreflightError(f"Output directory {directory}: {probe} is not a directory.")
    try:
        # os.access() says yes to root even on read-only filesystems: really try.
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise PreflightError(
            f"Output directory {directory} is not writable ({exc.strerror})."
        ) from None
