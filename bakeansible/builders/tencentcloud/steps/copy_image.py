"""Copy the image to other regions; delete the copies if the build fails (Packer leaked them)."""

from __future__ import annotations

from functools import partial

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_image, find_images_by_name
from bakeansible.builders.tencentcloud.steps.common import cleaning, create, delete_or_report
from bakeansible.builders.tencentcloud.steps.create_image import set_artifact
from bakeansible.builders.tencentcloud.waiters import poll, wait_image_normal
from bakeansible.pipeline.step import Outcome, Step


class StepCopyImage(Step[TencentContext]):
    """Reads ``ctx.image_id``; adds each region's copy to ``ctx.images`` and the artifact.

    Each copy is journaled (region, name) before SyncImages is sent, asks for the copies' ids
    (``ImageSetRequired``) and falls back to a lookup by name; each region's wait is bounded by
    ``image_copy_timeout`` and fails fast on CREATEFAILED.
    """

    makes_artifact = True

    def __init__(self, regions: list[str], image_name: str, timeout: float) -> None:
        self.regions = regions
        self.image_name = image_name
        self.timeout = timeout
        self.title = "Trying to copy image to: " + ", ".join(regions) + "..." if regions else ""
        #: region -> (journal id, image id or "")
        self._copies: dict[str, tuple[int | None, str]] = {}

    def run(self, ctx: TencentContext) -> None:
        if not self.regions:
            return
        for region in self.regions:
            data = ctx.access.in_region(region).journal_data() if ctx.access else {}
            rid = ctx.record_intent(
                "tencent.image",
                **{**ctx.journal_data(), **data, "name": self.image_name, "copy_of": ctx.image_id},
            )
            self._copies[region] = (rid, "")
        rids = [rid for rid, _ in self._copies.values()]
        resp = create(
            ctx,
            rids,
            "cvm",
            "SyncImages",
            {
                "ImageIds": [ctx.image_id],
                "DestinationRegions": self.regions,
                "ImageSetRequired": True,
            },
        )
        returned = {s.Region: s.ImageId for s in resp.ImageSet or [] if s.ImageId}
        for region in self.regions:
            rid = self._copies[region][0]
            image_id = returned.get(region) or self._find_copy(ctx, region)
            self._copies[region] = (rid, image_id)
            ctx.record_created(rid, image_id)
        for region in self.regions:
            image_id = self._copies[region][1]
            ctx.ui.message(f"Waiting for copy {image_id} in {region}")
            wait_image_normal(
                ctx.api.for_region(region),
                image_id,
                self.timeout,
                ui=ctx.ui,
                subject=f"copy {image_id} in {region}",
                kind="copy",
            )
            ctx.images[region] = image_id
            ctx.ui.message(f"Image copied: {region}: {image_id}")
        set_artifact(ctx, self.image_name)

    def _find_copy(self, ctx: TencentContext, region: str) -> str:
        client = ctx.api.for_region(region)

        def probe() -> tuple[str | None, str]:
            found = find_images_by_name(client, self.image_name)
            return (found[0].ImageId, "listed") if found else (None, "not listed yet")

        what = f"the copy of {ctx.image_id} in {region} to appear"
        return poll(client, what, 120.0, probe, ui=ctx.ui, subject=f"the copy in {region}")

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        for region, (rid, image_id) in list(self._copies.items()):
            if outcome is Outcome.SUCCESS and image_id:
                ctx.record_gone(rid)  # a kept artifact
                continue
            client = ctx.api.for_region(region)
            if not image_id:
                # SyncImages may have started the copy before failing: pre-validate made sure no
                # other image has this name in the region, so one found now is ours.
                try:
                    found = find_images_by_name(client, self.image_name, cancellable=False)
                except Exception:
                    found = []
                if not found:
                    ctx.record_gone(rid)
                    continue
                image_id = found[0].ImageId
            ctx.ui.say(cleaning(f"image copy {image_id} in {region}", outcome))
            if delete_or_report(
                ctx,
                f"image copy in {region}",
                image_id,
                rid,
                partial(delete_image, client, image_id),
            ):
                del self._copies[region]
                ctx.images.pop(region, None)
