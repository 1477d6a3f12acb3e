"""The ``local`` builder: the whole build as one flat list of steps."""

from __future__ import annotations

import os
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar

from bakeansible.artifacts.checksum import file_digest
from bakeansible.builders.local import network, rootfs
from bakeansible.builders.local.config import LocalConfig
from bakeansible.builders.local.steps import (
    LocalContext,
    StepBootContainer,
    StepCreateKeyPair,
    StepCreateNetwork,
    StepCreateWorkdir,
    StepMountRootfs,
    StepPowerOff,
    StepPrepareSource,
    StepRemoveExistingImage,
    StepServePackageCache,
    StepSnapshot,
    StepWaitBoot,
)
from bakeansible.communicators.agent import require_agent
from bakeansible.config.model import BuildSpec
from bakeansible.errors import PreflightError
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.step import Step
from bakeansible.procs import require_tools
from bakeansible.provisioners.run import (
    StepConnectSsh,
    StepPrepareProvisioners,
    StepProvision,
    make_provisioners,
)


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

    @property
    def output_dir(self) -> Path:
        out = Path(self.config.output_dir).expanduser()
        return out if out.is_absolute() else self.project_dir / out

    @property
    def image_path(self) -> Path:
        return self.output_dir / f"{self.config.image_name}.tar.zst"

    def preflight(self, force: bool = False) -> None:
        """Everything that can be checked before the first side effect."""
        if os.geteuid() != 0:
            raise PreflightError(
                "The local builder needs root (it mounts overlayfs and runs systemd-nspawn).",
                hint="Run bake as root, e.g. with sudo.",
            )
        tools = ["systemd-nspawn", "zstd", "tar", "mount", "ssh", "ip", "nft"]
        if not rootfs.is_tarball(self.config.source):
            suite = rootfs.parse_debian_source(self.config.source)
            tools.append("mmdebstrap")
            cached = rootfs.base_cache_path(
                suite, self.config.extra_packages, self.config.mirror
            )
            if self.config.ssh_username != "root":
                raise PreflightError(
                    f"ssh_username {self.config.ssh_username!r}: the Debian base has no user "
                    "but root.",
                    hint="Log in as root (the default), or bake an image that creates the user "
                    "and use it as source (a chained build).",
                )
        else:
            src = Path(self.config.source).expanduser()
            src = src if src.is_absolute() else self.project_dir / src
            if not src.is_file():
                raise PreflightError(f"Source tarball {src} does not exist.")
            rootfs.check_tarball(src)
            cached = rootfs.tarball_cache_path(src)
        rootfs.check_cache_entry(cached)
        require_tools(*tools)
        network.check_available()
        _check_writable(self.output_dir)
        if self.image_path.exists() and not force:
            raise PreflightError(
                f"Image {self.image_path} already exists.",
                hint="Use -force to replace it, or choose another image_name / --image-name.",
            )
        if self.config.ssh_agent_auth:
            require_agent(f"Build {self.spec.name}")
        for prov in self.provisioners:
            prov.validate()

    def source_identity(self) -> str:
        """What the source is, for the input fingerprint: the base's cache key or the
        tarball's digest."""
        if rootfs.is_tarball(self.config.source):
            src = Path(self.config.source).expanduser()
            src = src if src.is_absolute() else self.project_dir / src
            return "tarball:" + file_digest(src) if src.is_file() else "tarball:missing"
        suite = rootfs.parse_debian_source(self.config.source)
        packages = tuple(dict.fromkeys((*rootfs.BASE_PACKAGES, *self.config.extra_packages)))
        return rootfs.base_key(suite, packages, self.config.mirror)

    def new_context(self, base: BuildContext) -> LocalContext:
        ctx = LocalContext(**{f.name: getattr(base, f.name) for f in fields(BuildContext)})
        ctx.output_dir = self.output_dir
        return ctx

    def steps(self, ctx: LocalContext) -> list[Step[Any]]:
        return [
            StepPrepareProvisioners(self.provisioners),
            StepRemoveExistingImage(self.image_path),
            StepPrepareSource(self.config, self.project_dir),
            StepCreateNetwork(),
            StepServePackageCache(),
            StepCreateWorkdir(),
            StepCreateKeyPair(self.config.ssh_agent_auth),
            StepMountRootfs(self.config),
            StepBootContainer(self.config),
            StepConnectSsh(self.config.ssh_timeout),
            StepWaitBoot(self.config.boot_timeout),
            StepProvision(self.provisioners, self.config.ssh_timeout),
            StepPowerOff(self.config),
            StepSnapshot(self.config, self.image_path),
        ]


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
