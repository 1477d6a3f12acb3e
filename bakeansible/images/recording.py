"""Turn a finished build's artifact into a registry record."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from bakeansible.config.model import BuildSpec
from bakeansible.images.lineage import find_source_image
from bakeansible.images.records import ImageRecord, image_id_for
from bakeansible.images.store import ImageStore
from bakeansible.pipeline.context import Artifact

log = logging.getLogger(__name__)


def project_commit(project_dir: Path) -> str | None:
    """The project's git commit (``HEAD``), or None when it is not a git checkout."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(project_dir), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("no git commit for %s: %s", project_dir, exc)
        return None
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and commit else None


def image_record(
    build_id: str,
    spec: BuildSpec,
    artifact: Artifact,
    source_identity: str,
    project_dir: Path,
    parent: ImageRecord | None,
) -> ImageRecord:
    """The record of the image ``artifact`` that build ``build_id`` of ``spec`` made."""
    extra = artifact.extra
    name = str(extra.get("image_name") or getattr(spec.config, "image_name", "") or spec.name)
    size = None
    if artifact.files and artifact.files[0].is_file():
        size = artifact.files[0].stat().st_size
    inputs = extra.get("input_parts")
    access = extra.get("access")
    return ImageRecord(
        id=image_id_for(build_id),
        image_name=name,
        build_name=spec.name,
        builder_type=artifact.builder_type,
        artifact=artifact.artifact_id,
        checksum=artifact.checksum,
        size=size,
        fingerprint=extra.get("input_fingerprint"),
        inputs=dict(inputs) if isinstance(inputs, dict) else {},
        source=source_identity,
        parent_id=parent.id if parent else None,
        git_commit=project_commit(project_dir),
        test_result=extra.get("test_result"),
        location=dict(access) if isinstance(access, dict) else {},
    )


def record_image(
    store: ImageStore,
    build_id: str,
    spec: BuildSpec,
    artifact: Artifact,
    source_identity: str,
    project_dir: Path,
) -> ImageRecord:
    """Record the image a build made, with its parent when the source was a registry image."""
    parent = find_source_image(store, source_identity)
    record = image_record(build_id, spec, artifact, source_identity, project_dir, parent)
    store.add(record)
    log.debug("recorded image %s of build %s", record.id, spec.name)
    return record
