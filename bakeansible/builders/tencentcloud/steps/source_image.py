"""Find the source image: by id, or by a name pattern searched server-side on every page."""

from __future__ import annotations

import re
from typing import Any

from bakeansible.builders.tencentcloud.client import TencentClient, paginate
from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.errors import StepError
from bakeansible.pipeline.step import Step


def literal_fragment(pattern: str) -> str:
    """The longest run of literal characters a regex match must contain ("" if none).

    Sent as the fuzzy ``image-name`` filter so the server narrows the search; the full regex is
    then applied to every page of the answer (Packer read one page and filtered nothing).
    """
    try:
        parsed = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except re.error:
        return ""
    if any(op is re._constants.BRANCH for op, _ in parsed):  # type: ignore[attr-defined]
        return ""
    best, run = "", ""
    for op, arg in parsed:
        if op is re._constants.LITERAL:  # type: ignore[attr-defined]
            run += chr(arg)
            continue
        best, run = max(best, run, key=len), ""
    return max(best, run, key=len)


class StepCheckSourceImage(Step[TencentContext]):
    """Writes ``ctx.source_image`` (the SDK ``Image``, with its SnapshotSet)."""

    def __init__(self, image_id: str, name_pattern: str) -> None:
        self.image_id = image_id
        self.name_pattern = name_pattern
        self.title = f"Trying to check source image: {image_id or name_pattern}..."

    def run(self, ctx: TencentContext) -> None:
        image = self._by_id(ctx) if self.image_id else self._by_name(ctx)
        ctx.source_image = image
        ctx.ui.message(f"Image found: {image.ImageName} ({image.ImageId})")

    def _by_id(self, ctx: TencentContext) -> Any:
        resp = ctx.api.cvm("DescribeImages", {"ImageIds": [self.image_id]})
        if not resp.ImageSet:
            raise StepError(
                f"Source image {self.image_id} not found in {ctx.region}.",
                hint="Check source_image_id; images are per region.",
            )
        return resp.ImageSet[0]

    def _by_name(self, ctx: TencentContext) -> Any:
        image, searched = newest_matching(ctx.api, self.name_pattern)
        if image is None:
            raise StepError(
                f"No image in {ctx.region} has a name matching {self.name_pattern!r} "
                f"({searched} searched).",
                hint="Check source_image_name (a regular expression) or use source_image_id.",
            )
        return image


def newest_matching(client: TencentClient, pattern: str) -> tuple[Any, int]:
    """The newest NORMAL image whose name matches ``pattern`` (None if none), and how many
    images were searched. Reads every page."""
    regex = re.compile(pattern)
    fragment = literal_fragment(pattern)
    params: dict[str, Any] = {}
    if fragment:
        params["Filters"] = [{"Name": "image-name", "Values": [fragment]}]
    images = paginate(client, "cvm", "DescribeImages", params, "ImageSet")
    matches = [i for i in images if regex.search(i.ImageName or "") and i.ImageState == "NORMAL"]
    # The newest wins, like AWS's most_recent; ties keep the API order.
    newest = max(matches, key=lambda i: i.CreatedTime or "") if matches else None
    return newest, len(images)
