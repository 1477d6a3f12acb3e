"""Bringing up a local instance from a source (a Debian suite or an image tarball) with the
local builder's own steps: the test phase boots the new image this way."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from bakeansible.builders.local import rootfs
from bakeansible.builders.local.config import LocalConfig
from bakeansible.builders.local.steps import (
    LocalContext,
    StepBootContainer,
    StepCreateKeyPair,
    StepCreateNetwork,
    StepCreateWorkdir,
    StepMountRootfs,
    StepPrepareSource,
    StepWaitBoot,
)
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.step import Step
from bakeansible.provisioners.run import StepConnectSsh
from bakeansible.provisioners.testphase import TestInstance


def instance_steps(config: LocalConfig, project_dir: Path) -> list[Step[Any]]:
    """From ``config.source`` to a booted container with its own network, reachable over SSH
    (``ctx.comm``); their cleanups stop and remove all of it."""
    return [
        StepPrepareSource(config, project_dir),
        StepCreateNetwork(),
        StepCreateWorkdir(),
        StepCreateKeyPair(config.ssh_agent_auth),
        StepMountRootfs(config),
        StepBootContainer(config),
        StepConnectSsh(config.ssh_timeout),
        StepWaitBoot(config.boot_timeout),
    ]


def image_instance(
    image: Path, config: LocalConfig, base: BuildContext, project_dir: Path, name: str
) -> TestInstance:
    """A fresh container of ``image`` (a tarball), as a build of its own named ``name``
    (journaled under a new build id) that shares ``base``'s output, cancellation and journal.

    The image is extracted into the source cache like a chained build's source; when it was
    not there before, ``release`` removes it again (a new image is rarely booted twice)."""
    config = replace(config, source=str(image))
    ctx = LocalContext(
        build_id=uuid.uuid4().hex,
        build_name=name,
        builder_type="local",
        ui=base.ui,
        cancel_event=base.cancel_event,
        journal=base.journal,
        masker=base.masker,
        output_dir=base.output_dir,
        project_dir=project_dir,
    )
    cached = rootfs.tarball_cache_path(image).exists() if image.is_file() else True

    def release() -> None:
        if not cached:
            rootfs.remove_tarball_rootfs(image)

    return TestInstance(ctx, instance_steps(config, project_dir), release)
