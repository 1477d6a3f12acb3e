"""What the image registry remembers: one ``ImageRecord`` per baked image, and channels.

An image's id is its bake's own id (the first 12 hex digits of the build id), stable and short.
The artifact is what the manifest calls ``artifact_id``: a local path, or ``region:img-…`` pairs
on Tencent Cloud. ``source`` is the identity of what the build started from (the builder's
``source_identity``); ``parent_id`` the registry image that source was (chained builds).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

ID_LENGTH = 12
_CLOUD_PAIR = re.compile(r"([a-z][a-z0-9-]*):(img-[0-9a-z]+)")
TEST_PASSED = "passed"
TEST_FAILED = "failed"


def image_id_for(build_id: str) -> str:
    """The registry id of the image a build made."""
    return build_id[:ID_LENGTH]


def parse_cloud_images(artifact: str) -> dict[str, str]:
    """``ap-guangzhou:img-1,ap-shanghai:img-2`` -> {region: image id}; {} for a local path."""
    images: dict[str, str] = {}
    for part in artifact.split(","):
        match = _CLOUD_PAIR.fullmatch(part.strip())
        if match is None:
            return {}
        images[match[1]] = match[2]
    return images


@dataclass(frozen=True)
class ImageRecord:
    """One baked image."""

    id: str
    image_name: str
    build_name: str
    builder_type: str
    artifact: str
    checksum: str | None = None
    size: int | None = None
    fingerprint: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    parent_id: str | None = None
    git_commit: str | None = None
    created_at: float = field(default_factory=time.time)
    test_result: str | None = None
    revoked_at: float | None = None
    revoke_reason: str | None = None
    deleted_at: float | None = None
    # Builder data a later process needs to reach the artifact (Tencent: region, endpoint,
    # profile; never secrets).
    location: dict[str, Any] = field(default_factory=dict)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def cloud_images(self) -> dict[str, str]:
        """{region: image id} of a cloud image; {} for a local one."""
        return parse_cloud_images(self.artifact)

    @property
    def status(self) -> str:
        """One word for listings: deleted, revoked, failed (its tests), or ok."""
        if self.deleted:
            return "deleted"
        if self.revoked:
            return "revoked"
        if self.test_result == TEST_FAILED:
            return "failed"
        return "ok"

    def to_json(self) -> dict[str, Any]:
        """The record as ``bake images --json`` prints it."""
        return {
            "id": self.id,
            "image_name": self.image_name,
            "build_name": self.build_name,
            "builder_type": self.builder_type,
            "artifact": self.artifact,
            "size": self.size,
            "checksum": self.checksum,
            "fingerprint": self.fingerprint,
            "inputs": self.inputs,
            "source": self.source,
            "parent_id": self.parent_id,
            "git_commit": self.git_commit,
            "created_at": self.created_at,
            "test_result": self.test_result,
            "revoked_at": self.revoked_at,
            "revoke_reason": self.revoke_reason,
            "deleted_at": self.deleted_at,
            "status": self.status,
        }


@dataclass(frozen=True)
class ChannelRecord:
    """A channel names one image of a build, e.g. ``prod/site`` -> ``3f2a…``."""

    channel: str
    build_name: str
    image_id: str
    updated_at: float

    @property
    def ref(self) -> str:
        return f"{self.channel}/{self.build_name}"
