"""``bake cleanup --tags``: remove Tencent resources whose ``bake:expires-at`` tag has passed.

The journal-free safety net: even if the machine that ran a build is gone, every temporary
resource bake created carries ``bake:expires-at`` (build start + ``max_build_time``). Images are
not swept: a finished image never carries that tag. Regions come from ``TENCENTCLOUD_REGION``
(comma-separated allowed) or DescribeRegions; the endpoint from ``TENCENTCLOUD_ENDPOINT``;
credentials from the environment or the tccli profile, as for builds.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from typing import Any

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.builders.tencentcloud.context import (
    TAG_BUILD_ID,
    TAG_EXPIRES_AT,
    parse_expires_at,
)
from bakeansible.builders.tencentcloud.credentials import (
    AccessSettings,
    resolve_credentials,
    resolve_endpoints,
    resolve_region,
)
from bakeansible.builders.tencentcloud.resources import KINDS

log = logging.getLogger(__name__)

def _tags(item: Any) -> dict[str, str]:
    tags = getattr(item, "Tags", None) or getattr(item, "TagSet", None) or []
    return {t.Key: t.Value for t in tags}


def expired(tags: Mapping[str, str], now: dt.datetime) -> bool:
    when = parse_expires_at(tags.get(TAG_EXPIRES_AT, ""))
    return when is not None and when <= now


def sweep_expired(
    dry_run: bool = False,
    *,
    regions: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Delete (or, with ``dry_run``, list) expired bake resources; one line per resource."""
    env = os.environ if env is None else env
    now = now or dt.datetime.now(dt.UTC)
    creds = resolve_credentials(env=env)
    cvm, vpc = resolve_endpoints("", "", "", env)
    if regions is None:
        listed = env.get("TENCENTCLOUD_REGION", "")
        regions = [r.strip() for r in listed.split(",") if r.strip()]
    if not regions:
        home = resolve_region("", env=env) or "ap-guangzhou"
        probe = TencentClient(AccessSettings(home, cvm, vpc), creds)
        regions = [r.Region for r in probe.cvm("DescribeRegions").RegionSet or []]
    lines: list[str] = []
    verb = "Would remove" if dry_run else "Removed"
    for region in regions:
        client = TencentClient(AccessSettings(region, cvm, vpc), creds)
        for kind in KINDS:
            for item in kind.describe(client, [{"Name": "tag-key", "Values": [TAG_EXPIRES_AT]}]):
                tags = _tags(item)
                if not expired(tags, now):
                    continue
                ident = getattr(item, kind.id_field)
                build = tags.get(TAG_BUILD_ID, "?")[:12]
                if not dry_run:
                    try:
                        kind.delete(client, ident)
                    except Exception as exc:
                        lines.append(f"Could not remove {kind.label} {ident} in {region}: {exc}")
                        continue
                lines.append(f"{verb} expired {kind.label} {ident} in {region} (build {build})")
    return lines
