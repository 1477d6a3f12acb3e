"""The regions bake knows, and the checks of ``region``, ``zone`` and ``image_copy_regions``.

The list is cvm DescribeRegions output shipped with bake (``regions.json``); refresh it with
``tccli cvm DescribeRegions > regions.json`` (the bare response and ``{"Response": ...}`` both
load). The SDK carries no region data. A region that is not in the list is an error with a
"did you mean", unless the user says the region is new (``skip_region_validation``) or talks to
another API (a custom endpoint, e.g. the emulator or a private cloud): then it is a warning.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from bakeansible.config.decode import suggest

DATA_FILE = "regions.json"


def _region_set(data: Any) -> list[Any]:
    body = data.get("Response", data) if isinstance(data, dict) else {}
    region_set = body.get("RegionSet", []) if isinstance(body, dict) else []
    return region_set if isinstance(region_set, list) else []


@functools.cache
def known_regions() -> tuple[str, ...]:
    """The ``Region`` of every entry of the shipped DescribeRegions output, sorted."""
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    names = {str(r["Region"]) for r in _region_set(json.loads(text)) if isinstance(r, dict)}
    return tuple(sorted(names))


def check_regions(
    region: str, zone: str, copy_regions: Sequence[str], *, lenient_because: str = ""
) -> tuple[list[tuple[str, str]], list[str]]:
    """(field, message) issues and warnings for the resolved region, the zone and the copy
    regions. ``lenient_because`` (why unknown regions are allowed) turns unknown into a warning.
    """
    issues: list[tuple[str, str]] = []
    warnings: list[str] = []
    known = known_regions()

    def unknown(field: str, name: str) -> None:
        if lenient_because:
            warnings.append(
                f"{field}: `{name}` is not in bake's list of {len(known)} regions; "
                f"accepted because {lenient_because}"
            )
        else:
            issues.append(
                (
                    field,
                    f"unknown region `{name}`{suggest(name, known)} (known: {', '.join(known)}; "
                    "for a region newer than bake, set skip_region_validation)",
                )
            )

    if not region:
        issues.append(
            ("region", "is required: set region, env TENCENTCLOUD_REGION or the tccli "
             "profile's region (<profile>.configure)")
        )  # fmt: skip
    elif region not in known:
        unknown("region", region)
    for name in copy_regions:
        if name not in known:
            unknown("image_copy_regions", name)
    if region and zone:
        issue = _zone_issue(region, zone, strict=not lenient_because)
        if issue:
            issues.append(("zone", issue))
    return issues, warnings


def _zone_issue(region: str, zone: str, *, strict: bool) -> str:
    """Zones are ``<region>-<number>``; which numbers exist only DescribeZones knows."""
    if re.fullmatch(re.escape(region) + r"-\d+", zone):
        return ""
    if not strict and zone.startswith(region):
        return ""
    zone_region = zone.rsplit("-", 1)[0] if re.search(r"-\d+$", zone) else ""
    if zone_region and zone_region != region:
        return f"`{zone}` is in region `{zone_region}`, not in `{region}`"
    return f"`{zone}` is not a zone of `{region}` (zones are named {region}-<number>)"
