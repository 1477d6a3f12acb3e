"""Image the instance; keep the image on success, delete it on failure or cancellation."""

from __future__ import annotations

from functools import partial
from typing import Any

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_image, find_images_by_name
from bakeansible.builders.tencentcloud.steps.common import cleaning, create, delete_or_report
from bakeansible.builders.tencentcloud.waiters import wait_image_normal
from bakeansible.errors import StepError
from bakeansible.pipeline.context import Artifact
from bakeansible.pipeline.step import Outcome, Step

BUILDER_ID = "tencent.cloud"
# The tag that carries an image's input fingerprint (incremental bakes look images up by it).
TAG_FINGERPRINT = "bake:input-fingerprint"


def artifact_id(images: dict[str, str]) -> str:
    """Packer's artifact id: ``region:img-…`` pairs, sorted and comma-joined."""
    return ",".join(sorted(f"{region}:{image}" for region, image in images.items()))


def artifact_description(images: dict[str, str]) -> str:
    """``Tencentcloud images(ap-guangzhou: img-xxxxxxxx) were created.``"""
    parts = ", ".join(sorted(f"{region}: {image}" for region, image in images.items()))
    return f"Tencentcloud images({parts}) were created."


def set_artifact(ctx: TencentContext, image_name: str) -> None:
    ctx.artifact = Artifact(
        builder_type=ctx.builder_type,
        artifact_id=artifact_id(ctx.images),
        description=artifact_description(ctx.images),
        extra={
            "builder_id": BUILDER_ID,
            "region": ctx.region,
            "image_name": image_name,
            "images": dict(ctx.images),
            # Where the API is (no secrets), so `bake images prune` can delete the images.
            "access": ctx.access.journal_data() if ctx.access else {},
        },
    )


class StepCreateImage(Step[TencentContext]):
    """Reads ``ctx.instance``; writes ``ctx.image_id``, ``ctx.images`` and ``ctx.artifact``.

    Fixes: the ImageId CreateImage returns is used (Packer looked the image up by name, first
    page only); CREATEFAILED fails at once; the wait's timeout is ``image_ready_timeout``;
    ForcePoweroff/Sysprep are sent as the strings the API documents.
    """

    makes_artifact = True

    def __init__(
        self,
        image_name: str,
        description: str,
        force_poweroff: bool,
        sysprep: bool,
        image_tags: dict[str, str],
        timeout: float,
    ) -> None:
        self.image_name = image_name
        self.description = description
        self.force_poweroff = force_poweroff
        self.sysprep = sysprep
        self.image_tags = image_tags
        self.timeout = timeout
        self.title = f"Trying to create a new image: {image_name}..."
        self._rid: int | None = None
        self._created = ""

    def request(self, ctx: TencentContext) -> dict[str, Any]:
        params: dict[str, Any] = {
            "ImageName": self.image_name,
            "InstanceId": ctx.instance_id,
            "ForcePoweroff": "true" if self.force_poweroff else "false",
            "Sysprep": "true" if self.sysprep else "false",
            # No bake:expires-at here: a finished image is kept, and a tag sweep must not take it.
            "TagSpecification": [
                {
                    "ResourceType": "image",
                    "Tags": [
                        {"Key": k, "Value": v}
                        for k, v in {**self.image_tags, **_image_tags(ctx)}.items()
                    ],
                }
            ],
        }
        if self.description:
            params["ImageDescription"] = self.description
        disks = [d.DiskId for d in (ctx.instance.DataDisks or []) if d.DiskId]
        if disks:
            params["DataDiskIds"] = disks
        return params

    def run(self, ctx: TencentContext) -> None:
        self._rid = ctx.record_intent("tencent.image", **ctx.journal_data(name=self.image_name))
        resp = create(ctx, [self._rid], "cvm", "CreateImage", self.request(ctx))
        image_id = resp.ImageId
        if not image_id:  # older API versions answered without it
            found = find_images_by_name(ctx.api, self.image_name)
            if not found:
                raise StepError(f"CreateImage answered, but no image {self.image_name} exists.")
            image_id = found[0].ImageId
        self._created = ctx.image_id = image_id
        ctx.record_created(self._rid, image_id)
        ctx.ui.message("Waiting for image ready")
        wait_image_normal(ctx.api, image_id, self.timeout, ui=ctx.ui)
        ctx.images = {ctx.region: image_id}
        set_artifact(ctx, self.image_name)
        ctx.ui.message(f"Image created: {image_id}")

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        if not self._created:
            return
        if outcome is Outcome.SUCCESS:
            ctx.record_gone(self._rid)  # the artifact: kept, no longer the journal's to reap
            return
        if ctx.keep_image:
            ctx.ui.say(f"Keeping image {self._created} because {ctx.keep_image}.")
            ctx.record_gone(self._rid)
            return
        ctx.ui.say(cleaning("image", outcome))
        image_id = self._created
        delete = partial(delete_image, ctx.api, image_id)
        if delete_or_report(ctx, "image", image_id, self._rid, delete):
            self._created = ""
            ctx.images.pop(ctx.region, None)
            ctx.artifact = None


def _image_tags(ctx: TencentContext) -> dict[str, str]:
    """The build's tags but the expiry, and the input fingerprint (found by a later plan)."""
    from bakeansible.builders.tencentcloud.context import TAG_EXPIRES_AT

    tags = {k: v for k, v in ctx.tags.items() if k != TAG_EXPIRES_AT}
    if ctx.input_fingerprint:
        tags[TAG_FINGERPRINT] = ctx.input_fingerprint
    return tags
