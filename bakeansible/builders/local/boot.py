"""The steps that bring up a local instance from a source, shared by builds and instances.

``boot_steps`` is the part of a local build before provisioning: the source root filesystem,
a network of its own, a work directory with a temporary key, the overlay, the booted container,
SSH connected and systemd done booting. ``bake instance up`` runs the same list and keeps what it
made; a build's test phase boots a fresh instance from the new image with it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from bakeansible.builders.local import network, rootfs
from bakeansible.builders.local.config import LocalConfig
from bakeansible.builders.local.steps import (
    LocalContext,
    StepBootContainer,
    StepCreateKeyPair,
    StepCreateNetwork,
    StepCreateWorkdir,
    StepMountRootfs,
    StepPrepareSource,
    StepServePackageCache,
    StepWaitBoot,
)
from bakeansible.errors import PreflightError
from bakeansible.pipeline.context import BuildContext, new_base_context
from bakeansible.pipeline.step import Step
from bakeansible.procs import require_tools
from bakeansible.provisioners.run import StepConnectSsh
from bakeansible.provisioners.testphase import TestInstance


def boot_steps(
    config: LocalConfig, project_dir: Path, *, package_cache: bool = False
) -> list[Step[Any]]:
    """Steps that leave a ``LocalContext`` with a booted container reachable over SSH
    (``ctx.ssh``, ``ctx.comm``, ``ctx.key_path``, ``ctx.address``); their cleanups remove it.

    ``package_cache``: point apt at the host's package cache, a proxy that lives as long as this
    process (so a build uses it, and an instance that outlives ``bake instance up`` does not)."""
    cache: list[Step[Any]] = [StepServePackageCache()] if package_cache else []
    return [
        StepPrepareSource(config, project_dir),
        StepCreateNetwork(),
        *cache,
        StepCreateWorkdir(),
        StepCreateKeyPair(config.ssh_agent_auth),
        StepMountRootfs(config),
        StepBootContainer(config),
        StepConnectSsh(config.ssh_timeout),
        StepWaitBoot(config.boot_timeout),
    ]


def check_boot(config: LocalConfig, project_dir: Path) -> None:
    """Everything ``boot_steps`` needs, checked with no side effect: root, the host tools, the
    source (a known Debian suite, or a readable tarball relative to ``project_dir``), an
    undamaged cache entry for it, and a free network. Raises ``PreflightError``/``BakeError``."""
    if os.geteuid() != 0:
        raise PreflightError(
            "The local builder needs root (it mounts overlayfs and runs systemd-nspawn).",
            hint="Run bake as root, e.g. with sudo.",
        )
    tools = ["systemd-nspawn", "zstd", "tar", "mount", "ssh", "ip", "nft"]
    if not rootfs.is_tarball(config.source):
        suite = rootfs.parse_debian_source(config.source)
        tools.append("mmdebstrap")
        cached = rootfs.base_cache_path(suite, config.extra_packages, config.mirror)
        if config.ssh_username != "root":
            raise PreflightError(
                f"ssh_username {config.ssh_username!r}: the Debian base has no user but root.",
                hint="Log in as root (the default), or bake an image that creates the user "
                "and use it as source (a chained build).",
            )
    else:
        src = Path(config.source).expanduser()
        src = src if src.is_absolute() else project_dir / src
        if not src.is_file():
            raise PreflightError(f"Source tarball {src} does not exist.")
        rootfs.check_tarball(src)
        cached = rootfs.tarball_cache_path(src)
    rootfs.check_cache_entry(cached)
    require_tools(*tools)
    network.check_available()


def image_instance(
    image: Path, config: LocalConfig, base: BuildContext, project_dir: Path, name: str
) -> TestInstance:
    """A fresh container of ``image`` (a tarball), as a build of its own named ``name``
    (journaled under a new build id) that shares ``base``'s output, cancellation and journal.

    The image is extracted into the source cache like a chained build's source; when it was
    not there before, ``release`` removes it again (a new image is rarely booted twice)."""
    config = replace(config, source=str(image))
    ctx = new_base_context(
        LocalContext, name, "local", ui=base.ui, cancel_event=base.cancel_event,
        journal=base.journal, masker=base.masker, output_dir=base.output_dir,
        project_dir=project_dir,
    )  # fmt: skip
    # Hashed once here (the image can be gigabytes); release removes what this boot extracts.
    target = rootfs.tarball_cache_path(image) if image.is_file() else None
    cached = target is None or target.exists()

    def release() -> None:
        if not cached and target is not None:
            rootfs.remove_tarball_rootfs(target)

    return TestInstance(ctx, boot_steps(config, project_dir), release)
