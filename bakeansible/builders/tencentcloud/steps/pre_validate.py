"""Check the zone and that no image with the target name exists (``-force`` deletes it)."""

from __future__ import annotations

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_image, find_images_by_name
from bakeansible.errors import StepError
from bakeansible.pipeline.step import Step


class StepPreValidate(Step[TencentContext]):
    """Reads the config's zone and image name; writes nothing. The zone and instance type
    lookups are shared by the builds of one bake (``TencentClient.catalog``).

    Fixes Packer's check, which read only the first page of the fuzzy name filter: every page
    is read and only an exact name counts.
    """

    def __init__(
        self,
        image_name: str,
        zone: str,
        copy_regions: list[str] | None = None,
        instance_type: str = "",
    ) -> None:
        self.image_name = image_name
        self.zone = zone
        self.instance_type = instance_type
        self.copy_regions = list(copy_regions or [])
        self.title = f"Trying to check image name: {image_name}..."

    def run(self, ctx: TencentContext) -> None:
        zones = ctx.api.catalog("DescribeZones").ZoneSet or []
        names = [z.Zone for z in zones]
        if self.zone not in names:
            raise StepError(
                f"Unknown zone {self.zone!r} in region {ctx.region}.",
                hint="Available zones: " + (", ".join(names) or "none"),
            )
        if self.instance_type:
            self._check_instance_type(ctx)
        # Copies keep the name, and names are unique per region: check the copy regions too.
        for region in [ctx.region, *self.copy_regions]:
            client = ctx.api if region == ctx.region else ctx.api.for_region(region)
            existing = find_images_by_name(client, self.image_name)
            if existing and ctx.check_mode:
                ids = ", ".join(img.ImageId for img in existing)
                ctx.ui.message(f"Image name used by {ids} in {region} (check mode makes no image)")
                continue
            if existing and not ctx.force:
                ids = ", ".join(img.ImageId for img in existing)
                raise StepError(
                    f"Image name {self.image_name} is already used by {ids} in {region}.",
                    hint="It is not up to date (`bake plan` says why): choose another "
                    "image_name, delete the image, or build with -force.",
                )
            for image in existing:
                ctx.ui.message(f"Deleting existing image {image.ImageId} in {region} (-force)")
                delete_image(client, image.ImageId)
        ctx.ui.message("Image name: useable")

    def _check_instance_type(self, ctx: TencentContext) -> None:
        """Fail before anything is created if the zone does not offer the instance type."""
        filters = [
            {"Name": "zone", "Values": [self.zone]},
            {"Name": "instance-type", "Values": [self.instance_type]},
        ]
        resp = ctx.api.catalog("DescribeInstanceTypeConfigs", {"Filters": filters})
        if not resp.InstanceTypeConfigSet:
            raise StepError(
                f"Instance type {self.instance_type} is not offered in zone {self.zone}.",
                hint="Choose another instance_type or zone (tccli cvm "
                "DescribeInstanceTypeConfigs lists them).",
            )
