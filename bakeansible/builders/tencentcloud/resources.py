"""Idempotent deletion of every Tencent resource kind bake creates.

The steps' cleanups and ``bake cleanup`` (through the reaper's ``@deleter`` registry) share these
functions. A resource already gone counts as deleted. A journal entry that never got its id (the
process died between the create call and its answer) is found by its name and its
``bake:build-id`` tag. Credentials are resolved again from the environment or the tccli profile:
the journal holds only the region, the endpoints and the profile name.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeansible.builders.tencentcloud.client import (
    TencentApiError,
    TencentClient,
    is_not_found,
    paginate,
)
from bakeansible.builders.tencentcloud.context import TAG_BUILD_ID
from bakeansible.builders.tencentcloud.credentials import AccessSettings, resolve_credentials
from bakeansible.builders.tencentcloud.waiters import wait_image_settled, wait_instance_gone
from bakeansible.pipeline.journal import Resource
from bakeansible.pipeline.reaper import deleter

log = logging.getLogger(__name__)

#: How long a cleanup waits for a terminated instance to disappear before deleting its network.
TERMINATE_WAIT = 180.0
IMAGE_SETTLE_WAIT = 600.0


def _quiet(fn: Any, *args: Any) -> bool:
    """Run a delete call; True if done or already gone. Other errors propagate."""
    try:
        fn(*args)
    except TencentApiError as exc:
        if is_not_found(exc.code):
            return True
        raise
    return True


def delete_instance(client: TencentClient, instance_id: str, *, wait: bool = True) -> None:
    _quiet(
        lambda: client.cvm("TerminateInstances", {"InstanceIds": [instance_id]}, cancellable=False)
    )
    if wait:
        try:
            wait_instance_gone(client, instance_id, TERMINATE_WAIT)
        except Exception as exc:  # the deletes that follow retry through ResourceInUse anyway
            log.debug("instance %s still listed: %s", instance_id, exc)


def delete_security_group(client: TencentClient, group_id: str, *, retry: bool = True) -> None:
    params = {"SecurityGroupId": group_id}
    _quiet(lambda: client.vpc("DeleteSecurityGroup", params, cancellable=False, retry=retry))


def delete_subnet(client: TencentClient, subnet_id: str, *, retry: bool = True) -> None:
    params = {"SubnetId": subnet_id}
    _quiet(lambda: client.vpc("DeleteSubnet", params, cancellable=False, retry=retry))


def delete_vpc(client: TencentClient, vpc_id: str, *, retry: bool = True) -> None:
    params = {"VpcId": vpc_id}
    _quiet(lambda: client.vpc("DeleteVpc", params, cancellable=False, retry=retry))


def delete_key_pair(client: TencentClient, key_id: str, *, retry: bool = True) -> None:
    params = {"KeyIds": [key_id]}
    _quiet(lambda: client.cvm("DeleteKeyPairs", params, cancellable=False, retry=retry))


def delete_image(client: TencentClient, image_id: str) -> None:
    """Cancel its shares, wait until it is not CREATING/SYNCING, then delete it."""
    image = wait_image_settled(client, image_id, IMAGE_SETTLE_WAIT)
    if image is None:
        return
    try:
        shares = client.cvm(
            "DescribeImageSharePermission", {"ImageId": image_id}, cancellable=False
        ).SharePermissionSet
    except TencentApiError as exc:
        if is_not_found(exc.code):
            return
        shares = None  # not fatal: DeleteImages will say if the image is still shared
    accounts = [s.AccountId for s in shares or []]
    if accounts:
        client.cvm(
            "ModifyImageSharePermission",
            {"ImageId": image_id, "AccountIds": accounts, "Permission": "CANCEL"},
            cancellable=False,
        )
    _quiet(lambda: client.cvm("DeleteImages", {"ImageIds": [image_id]}, cancellable=False))


def find_images_by_name(client: TencentClient, name: str, **kw: Any) -> list[Any]:
    """Private images whose name is exactly ``name`` (the filter is fuzzy; every page is read)."""
    filters = [
        {"Name": "image-name", "Values": [name]},
        {"Name": "image-type", "Values": ["PRIVATE_IMAGE"]},
    ]
    images = paginate(client, "cvm", "DescribeImages", {"Filters": filters}, "ImageSet", **kw)
    return [img for img in images if img.ImageName == name]


# -- bake cleanup ----------------------------------------------------------------------------


def client_for(data: dict[str, Any]) -> TencentClient:
    """A client for a journaled resource, with credentials from the environment or profile."""
    access = AccessSettings.from_journal(data)
    creds = resolve_credentials(
        profile=access.profile, shared_credentials_dir=access.shared_credentials_dir
    )
    return TencentClient(access, creds)


def _tag_filter(data: dict[str, Any]) -> list[dict[str, Any]]:
    build_id = dict(data.get("tags", {})).get(TAG_BUILD_ID)
    return [{"Name": f"tag:{TAG_BUILD_ID}", "Values": [build_id]}] if build_id else []


@dataclass(frozen=True)
class ResourceKind:
    """How to list, find by name and delete one kind of temporary resource."""

    label: str  # for people: "security group"
    journal_kind: str  # the journal's and ``bake cleanup``'s name: "tencent.security_group"
    service: str
    action: str  # the Describe* call that lists them
    set_field: str  # where the reply lists them
    id_field: str
    name_filter: str
    delete: Callable[[TencentClient, str], None]

    def describe(self, client: TencentClient, filters: list[dict[str, Any]]) -> list[Any]:
        """Every resource of this kind matching ``filters`` (all pages)."""
        params = {"Filters": filters}
        return paginate(
            client, self.service, self.action, params, self.set_field, cancellable=False
        )

    def find(self, client: TencentClient, name: str, data: dict[str, Any]) -> list[str]:
        """Ids of those named ``name`` carrying the build tag in ``data`` (intent-only entries)."""
        filters = [{"Name": self.name_filter, "Values": [name]}, *_tag_filter(data)]
        return [getattr(item, self.id_field) for item in self.describe(client, filters)]


#: The temporary resource kinds, in deletion order: instances first, key pairs last.
KINDS = (
    ResourceKind("instance", "tencent.instance", "cvm", "DescribeInstances", "InstanceSet",
                 "InstanceId", "instance-name", delete_instance),
    ResourceKind("security group", "tencent.security_group", "vpc", "DescribeSecurityGroups",
                 "SecurityGroupSet", "SecurityGroupId", "security-group-name",
                 delete_security_group),
    ResourceKind("subnet", "tencent.subnet", "vpc", "DescribeSubnets", "SubnetSet", "SubnetId",
                 "subnet-name", delete_subnet),
    ResourceKind("vpc", "tencent.vpc", "vpc", "DescribeVpcs", "VpcSet", "VpcId", "vpc-name",
                 delete_vpc),
    ResourceKind("key pair", "tencent.keypair", "cvm", "DescribeKeyPairs", "KeyPairSet", "KeyId",
                 "key-name", delete_key_pair),
)  # fmt: skip
INSTANCES = KINDS[0]


def find_instances(client: TencentClient, name: str, data: dict[str, Any]) -> list[str]:
    """Instances named ``name`` that carry the build tag recorded in ``data``."""
    return INSTANCES.find(client, name, data)


def _register_reaper(kind: ResourceKind) -> None:
    """``bake cleanup``'s deleter for ``kind``: the journaled id, else the ones found by name."""

    @deleter(kind.journal_kind)
    def reap(res: Resource) -> None:
        client = client_for(res.data)
        name = res.data.get("name")
        ids = [res.ident] if res.ident else kind.find(client, name, res.data) if name else []
        for ident in ids:
            kind.delete(client, ident)


for _kind in KINDS:
    _register_reaper(_kind)


@deleter("tencent.image")
def _reap_image(res: Resource) -> None:
    client = client_for(res.data)
    if res.ident:
        delete_image(client, res.ident)
        return
    name = res.data.get("name")
    build_id = dict(res.data.get("tags", {})).get(TAG_BUILD_ID)
    for image in find_images_by_name(client, name, cancellable=False) if name else []:
        tags = {t.Key: t.Value for t in image.Tags or []}
        # Copies made by SyncImages may carry no tags; only the journal knows them then.
        if tags.get(TAG_BUILD_ID) == build_id or res.data.get("copy_of"):
            delete_image(client, image.ImageId)


@deleter("tencent.key_file")
def _reap_key_file(res: Resource) -> None:
    path = res.data.get("path")
    if path:
        shutil.rmtree(Path(path), ignore_errors=True)
