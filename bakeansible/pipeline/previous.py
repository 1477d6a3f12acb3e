"""Images earlier bakes produced, as incremental bakes see them.

``PreviousImage`` is one recorded image of a build, whatever recorded it: a manifest entry
(``previous_images`` reads the manifests a build appends to), the image registry
(``registry_images``), or a cloud image found by its fingerprint tag. ``ImageCheck`` is a
builder's answer to "does it still exist, intact?". ``Reason`` is one named cause for
rebuilding, as ``bake plan`` prints it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeansible.pipeline.context import Artifact

if TYPE_CHECKING:
    from bakeansible.images.store import ImageStore


@dataclass(frozen=True)
class Reason:
    """Why a build is not up to date: a kind (``file``, ``variable``, ``source``...) and detail."""

    kind: str
    detail: str = ""

    def __str__(self) -> str:
        text = KIND_TEXT.get(self.kind, self.kind)
        return f"{text}: {self.detail}" if self.detail else text


KIND_TEXT = {
    "never-built": "never built",
    "file-changed": "file changed",
    "file-added": "file added",
    "file-removed": "file removed",
    "variable": "variable changed",
    "builder-option": "builder option changed",
    "provisioner-option": "provisioner option changed",
    "provisioners": "provisioners changed",
    "collection": "collection changed",
    "source": "source image changed",
    "inputs": "inputs changed",
    "image-missing": "image missing",
    "checksum-mismatch": "checksum mismatch",
    "revoked": "revoked",
    "failed-tests": "failed tests",
    "force": "-force",
}


@dataclass(frozen=True)
class PreviousImage:
    """An image an earlier bake of the build produced, and what it was baked from."""

    build_name: str
    builder_type: str
    artifact_id: str
    fingerprint: str
    parts: dict[str, str] | None = None  # None: recorded before bake kept the parts
    files: tuple[str, ...] = ()
    checksum: str = ""  # "sha256:<hex>" of the image file (local builds)
    extra: dict[str, Any] = field(default_factory=dict)
    built_at: int = 0
    where: str = ""  # what recorded it: a manifest path, "registry", "cloud tag"
    revoked: bool = False
    test_result: str = ""  # "passed", "failed", or "" (no tests)


@dataclass(frozen=True)
class ImageCheck:
    """A builder's verdict on a previous image: the artifact to reuse, or why it cannot be."""

    artifact: Artifact | None = None
    problem: Reason | None = None


def _entry_image(entry: dict[str, Any], where: str) -> PreviousImage | None:
    fingerprint = entry.get("input_fingerprint")
    if not isinstance(fingerprint, str) or not isinstance(entry.get("name"), str):
        return None
    parts = entry.get("input_parts")
    files = [f.get("name") for f in entry.get("files") or [] if isinstance(f, dict)]
    return PreviousImage(
        build_name=entry["name"],
        builder_type=str(entry.get("builder_type", "")),
        artifact_id=str(entry.get("artifact_id", "")),
        fingerprint=fingerprint,
        parts=dict(parts) if isinstance(parts, dict) else None,
        files=tuple(str(f) for f in files if f),
        checksum=str(entry.get("checksum") or ""),
        extra=entry,
        built_at=int(entry.get("build_time") or 0),
        where=where,
        revoked=bool(entry.get("revoked")),
        test_result=str(entry.get("test_result") or ""),
    )


def previous_images(
    build_name: str, builder_type: str, manifests: list[Path]
) -> list[PreviousImage]:
    """The build's images recorded in ``manifests``, newest first. A manifest that is missing
    or unreadable has none (the build's preflight reports an unreadable one)."""
    found: list[tuple[int, int, PreviousImage]] = []
    for path in dict.fromkeys(manifests):
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        builds = doc.get("builds") if isinstance(doc, dict) else None
        for order, entry in enumerate(builds if isinstance(builds, list) else []):
            if not isinstance(entry, dict):
                continue
            image = _entry_image(entry, str(path))
            if image and image.build_name == build_name and image.builder_type == builder_type:
                found.append((image.built_at, order, image))
    found.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [image for _, _, image in found]


def registry_images(store: ImageStore, build_name: str, builder_type: str) -> list[PreviousImage]:
    """The build's images in the image registry, newest first, pruned ones included (they are
    reported as missing)."""
    found = []
    for rec in store.images(build_name, deleted=True):
        if rec.builder_type != builder_type or not rec.fingerprint:
            continue
        extra: dict[str, Any] = {"deleted": rec.deleted}
        if rec.cloud_images:
            extra["images"] = rec.cloud_images
        found.append(
            PreviousImage(
                build_name=rec.build_name,
                builder_type=rec.builder_type,
                artifact_id=rec.artifact,
                fingerprint=rec.fingerprint,
                parts=dict(rec.inputs) if rec.inputs else None,
                checksum=f"sha256:{rec.checksum}" if rec.checksum else "",
                extra=extra,
                built_at=int(rec.created_at),
                where=f"registry image {rec.id}",
                revoked=rec.revoked,
                test_result=rec.test_result or "",
            )
        )
    return found
