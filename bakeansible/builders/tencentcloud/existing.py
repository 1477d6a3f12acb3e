"""Incremental bakes on Tencent Cloud: does an earlier image still exist, or is there an image
tagged with the build's input fingerprint that no local record knows of?

Only DescribeImages is called (read-only). Every image bake creates carries its fingerprint as
the ``bake:input-fingerprint`` tag, so a hit is found from the cloud on a machine that never
baked it (another CI runner, a fresh checkout).
"""

from __future__ import annotations

from typing import Any

from bakeansible.builders.tencentcloud.client import TencentClient, paginate
from bakeansible.builders.tencentcloud.resources import find_images_by_name
from bakeansible.builders.tencentcloud.steps.create_image import (
    BUILDER_ID,
    TAG_FINGERPRINT,
    artifact_description,
    artifact_id,
)
from bakeansible.pipeline.context import Artifact
from bakeansible.pipeline.previous import ImageCheck, PreviousImage, Reason


def _images_of(record: PreviousImage) -> dict[str, str]:
    """region -> image id: the record's ``images``, else parsed from its artifact id."""
    images = record.extra.get("images")
    if isinstance(images, dict) and images:
        return {str(k): str(v) for k, v in images.items()}
    pairs = (p.split(":", 1) for p in record.artifact_id.split(",") if ":" in p)
    return {region: image for region, image in pairs}


def _client(client: TencentClient, region: str) -> TencentClient:
    return client if region == client.region else client.for_region(region)


def _artifact(
    client: TencentClient, builder_type: str, region: str, name: str, images: dict[str, str]
) -> Artifact:
    """The artifact as StepCreateImage makes it (``access``: where the API is, no secrets)."""
    return Artifact(
        builder_type=builder_type,
        artifact_id=artifact_id(images),
        description=artifact_description(images),
        extra={"builder_id": BUILDER_ID, "region": region, "image_name": name,
               "images": dict(images), "access": client.access.journal_data()},
    )  # fmt: skip


def check_existing_image(client: TencentClient, record: PreviousImage) -> ImageCheck:
    """The artifact to reuse if every region's image of ``record`` exists and is NORMAL."""
    images = _images_of(record)
    if not images:
        return ImageCheck(problem=Reason("image-missing", f"no image id in {record.where}"))
    name = ""
    for region, image_id in sorted(images.items()):
        resp = _client(client, region).cvm("DescribeImages", {"ImageIds": [image_id]})
        found = [i for i in resp.ImageSet or [] if i.ImageId == image_id]
        if not found or found[0].ImageState != "NORMAL":
            state = found[0].ImageState if found else "gone"
            return ImageCheck(problem=Reason("image-missing", f"{region}:{image_id} ({state})"))
        name = name or found[0].ImageName
    region = str(record.extra.get("region") or client.region)
    return ImageCheck(_artifact(client, record.builder_type, region, name, images))


def _tagged(client: TencentClient, fingerprint: str) -> list[Any]:
    filters = [
        {"Name": f"tag:{TAG_FINGERPRINT}", "Values": [fingerprint]},
        {"Name": "image-type", "Values": ["PRIVATE_IMAGE"]},
    ]
    images = paginate(client, "cvm", "DescribeImages", {"Filters": filters}, "ImageSet")
    return [i for i in images if i.ImageState == "NORMAL"]


def find_tagged_image(
    client: TencentClient,
    build_name: str,
    builder_type: str,
    fingerprint: str,
    copy_regions: list[str],
) -> PreviousImage | None:
    """The newest image tagged with ``fingerprint`` in the build's region, with a copy in each
    of ``copy_regions`` (tagged too, or of the same name); None when any is missing."""
    found = _tagged(client, fingerprint)
    if not found:
        return None
    newest = max(found, key=lambda i: i.CreatedTime or "")
    images = {client.region: newest.ImageId}
    for region in copy_regions:
        regional = _client(client, region)
        # Copies keep the image's name (unique per region); the cloud may not copy its tags.
        copies = _tagged(regional, fingerprint) or [
            i for i in find_images_by_name(regional, newest.ImageName) if i.ImageState == "NORMAL"
        ]
        if not copies:
            return None
        images[region] = max(copies, key=lambda i: i.CreatedTime or "").ImageId
    return PreviousImage(
        build_name=build_name,
        builder_type=builder_type,
        artifact_id=artifact_id(images),
        fingerprint=fingerprint,
        extra={"images": images, "region": client.region, "image_name": newest.ImageName},
        where=f"cloud tag {TAG_FINGERPRINT}",
    )
