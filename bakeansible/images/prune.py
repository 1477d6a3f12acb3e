"""``bake images prune``: per build, keep the N newest images and every image a channel names;
delete the others' local files and cloud images (through the builder's client), and mark their
records deleted (kept for lineage)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bakeansible.artifacts.checksum import file_digest
from bakeansible.errors import BakeError
from bakeansible.images.records import ImageRecord
from bakeansible.images.store import ImageStore

log = logging.getLogger(__name__)


@dataclass
class PrunePlan:
    """What a prune keeps and deletes."""

    delete: list[ImageRecord] = field(default_factory=list)
    keep: list[ImageRecord] = field(default_factory=list)


def plan_prune(store: ImageStore, keep: int, build_name: str | None = None) -> PrunePlan:
    """Per build, newest first: the first ``keep`` and the channels' images are kept."""
    if keep < 0:
        raise BakeError(f"--keep {keep}: must be 0 or more.")
    pinned = store.channel_targets()
    plan = PrunePlan()
    by_build: dict[str, list[ImageRecord]] = {}
    for image in store.images(build_name):
        by_build.setdefault(image.build_name, []).append(image)
    for images in by_build.values():
        for i, image in enumerate(images):
            (plan.keep if i < keep or image.id in pinned else plan.delete).append(image)
    return plan


def delete_local(image: ImageRecord) -> None:
    """The image file and its ``.sha256``; already gone is fine. A file that is no longer this
    image (another checksum) is left alone."""
    path = Path(image.artifact)
    if image.checksum and path.is_file() and file_digest(path) != image.checksum:
        log.info("%s is no longer image %s (checksum differs): not deleted", path, image.id)
        return
    for victim in (path, path.with_name(path.name + ".sha256")):
        try:
            victim.unlink(missing_ok=True)
        except OSError as exc:
            raise BakeError(
                f"Cannot delete {victim} of image {image.id}: {exc.strerror}.",
                hint="Check the file's permissions, or delete it by hand and prune again.",
            ) from None


def delete_cloud(image: ImageRecord) -> None:
    """Each region's copy, through the Tencent client (DeleteImages)."""
    from bakeansible.builders.tencentcloud.images import delete_registry_images

    delete_registry_images(image.cloud_images, image.location)


DELETERS: dict[str, Callable[[ImageRecord], None]] = {
    "local": delete_local,
    "tencentcloud-cvm": delete_cloud,
}


def delete_image(store: ImageStore, image: ImageRecord) -> None:
    """Delete an image's artifact and mark its record deleted."""
    deleter = DELETERS.get(image.builder_type)
    if deleter is None:
        raise BakeError(f"Image {image.id}: bake cannot delete {image.builder_type} images.")
    deleter(image)
    store.mark_deleted(image.id)
    log.debug("pruned image %s (%s)", image.id, image.artifact)
