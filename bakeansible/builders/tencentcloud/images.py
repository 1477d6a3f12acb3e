"""Deleting registry images on Tencent Cloud (``bake images prune``), through the client.

The registry holds each image's regions and where to reach the API (region, endpoints,
profile: never secrets); credentials are resolved again from the environment or the profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.builders.tencentcloud.credentials import AccessSettings, find_credentials
from bakeansible.builders.tencentcloud.resources import delete_image
from bakeansible.errors import BakeError


def delete_registry_images(images: Mapping[str, str], location: Mapping[str, Any]) -> None:
    """DeleteImages for each ``region: image id`` (shares cancelled first; gone is fine)."""
    if not images:
        return
    access = AccessSettings.from_journal({"region": next(iter(images)), **location})
    creds, problems = find_credentials(
        profile=access.profile, shared_credentials_dir=access.shared_credentials_dir
    )
    if creds is None:
        ids = ", ".join(f"{r}:{i}" for r, i in sorted(images.items()))
        raise BakeError(
            f"Cannot delete the Tencent Cloud images {ids}: no credentials "
            f"({'; '.join(f'{f} {m}' for f, m in problems)}).",
            hint="Set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (or a tccli profile) "
            "and prune again.",
        )
    for region, image_id in sorted(images.items()):
        delete_image(TencentClient(access.in_region(region), creds), image_id)
