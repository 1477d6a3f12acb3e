"""cvm 2017-03-12 image actions: describe, create, delete, sync, share."""

from __future__ import annotations

from typing import Any

from tencentcloud.cvm.v20170312 import models as m

from bakeansible.testing.tcloud.catalog import REGIONS
from bakeansible.testing.tcloud.cloud import Call
from bakeansible.testing.tcloud.errors import ApiError, in_progress, invalid_value, missing
from bakeansible.testing.tcloud.lookup import describe, get_image, get_instance, newest_first_key
from bakeansible.testing.tcloud.params import FILTER, TAG_SPEC, Required, tags_from_spec
from bakeansible.testing.tcloud.router import action
from bakeansible.testing.tcloud.state import (
    Image,
    iso_now,
    new_id,
)

# Images -------------------------------------------------------------------------------------


def image_view(image: Image) -> dict[str, Any]:
    return {
        "ImageId": image.id,
        "OsName": image.os_name,
        "ImageType": image.image_type,
        "CreatedTime": image.created,
        "ImageName": image.name,
        "ImageDescription": image.description,
        "ImageSize": image.size,
        "Architecture": "x86_64",
        "ImageState": image.state,
        "Platform": image.platform,
        "ImageCreator": image.creator,
        "ImageSource": image.source,
        "SyncPercent": image.sync_percent,
        "IsSupportCloudinit": True,
        "SnapshotSet": [
            {"SnapshotId": image.snapshot_id, "DiskUsage": "SYSTEM_DISK", "DiskSize": image.size}
        ],
        "Tags": list(image.tags),
        "LicenseType": "TencentCloud",
        "ImageFamily": "",
        "ImageDeprecated": False,
    }


@action("cvm", m, ImageIds=[str], Filters=[FILTER], Offset=int, Limit=int, InstanceType=str)
def describe_images(call: Call) -> dict[str, Any]:
    return describe(
        call,
        # Newest private images first, then the public catalogue.
        sorted(
            call.region.images.values(),
            key=lambda i: (i.image_type == "PUBLIC_IMAGE", newest_first_key(i.created)),
        ),
        ids="ImageIds",
        prefix="img",
        max_ids=100,
        coexist=(
            "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
            "ImageIds and Filters cannot be specified together.",
        ),
        filters={
            "image-id": lambda i: i.id,
            "image-type": lambda i: i.image_type,
            "image-name": lambda i: i.name,
            "platform": lambda i: i.platform,
            "image-state": lambda i: i.state,
        },
        fuzzy=frozenset({"image-name", "platform"}),
        view=image_view,
        set_name="ImageSet",
    )


@action(
    "cvm",
    m,
    ImageName=Required(str),
    InstanceId=str,
    ImageDescription=str,
    ForcePoweroff=str,
    Sysprep=str,
    DataDiskIds=[str],
    SnapshotIds=[str],
    DryRun=bool,
    TagSpecification=[TAG_SPEC],
)
def create_image(call: Call) -> dict[str, Any]:
    p, region = call.params, call.region
    name = p["ImageName"]
    if not name or len(name) > 60:
        raise invalid_value("ImageName", "must be 1 to 60 characters long")
    if "InstanceId" not in p:
        raise missing("InstanceId")
    force = p.get("ForcePoweroff", "false").lower()
    if force not in ("true", "false"):
        raise invalid_value("ForcePoweroff", "must be `true` or `false`")
    inst = get_instance(region, p["InstanceId"])
    if any(i.name == name for i in region.images.values() if i.image_type != "PUBLIC_IMAGE"):
        raise ApiError("InvalidImageName.Duplicate", f"An image named `{name}` already exists.")
    if inst.operating:
        raise in_progress(inst.id)
    if inst.state not in ("RUNNING", "STOPPED"):
        raise ApiError("InvalidInstanceState", f"Instance `{inst.id}` is {inst.state}.")
    if p.get("DryRun"):
        raise ApiError("DryRunOperation", "The request would have succeeded (DryRun).")
    source = region.images.get(inst.image_id)
    image = Image(
        id=new_id("img"),
        name=name,
        os_name=inst.os_name,
        platform=source.platform if source else "Debian",
        image_type="PRIVATE_IMAGE",
        source="CREATE_IMAGE",
        size=int(inst.system_disk.get("DiskSize", 50)),
        state="CREATING",
        description=p.get("ImageDescription", ""),
        creator=call.cloud.account_id,
        tags=tags_from_spec(p.get("TagSpecification"), "image"),
        key_ids=list(inst.key_ids),
        sync_percent=0,
    )
    region.images[image.id] = image
    call.cloud.create_image(inst, image, call.request_id, force == "true")
    return {"ImageId": image.id}


@action("cvm", m, ImageIds=Required([str]), DeleteBindedSnap=bool, DryRun=bool)
def delete_images(call: Call) -> dict[str, Any]:
    region = call.region
    images = [get_image(region, i) for i in call.params["ImageIds"]]
    for image in images:
        if image.image_type == "PUBLIC_IMAGE":
            raise ApiError(
                "UnauthorizedOperation.ImageNotBelongToAccount",
                f"The image `{image.id}` does not belong to this account.",
            )
        if image.state in ("CREATING", "SYNCING", "IMPORTING"):
            raise ApiError(
                "InvalidImageId.IncorrectState",
                f"The image `{image.id}` is {image.state} and cannot be deleted.",
            )
        if image.shared_with:
            raise ApiError(
                "InvalidImageId.InShared",
                f"The image `{image.id}` is shared; cancel the sharing first.",
            )
    if call.params.get("DryRun"):
        raise ApiError("DryRunOperation", "The request would have succeeded (DryRun).")
    for image in images:
        del region.images[image.id]
        call.cloud.layers.release(image.layers)
    return {}


@action(
    "cvm",
    m,
    ImageIds=Required([str]),
    DestinationRegions=Required([str]),
    DryRun=bool,
    ImageName=str,
    ImageSetRequired=bool,
)
def sync_images(call: Call) -> dict[str, Any]:
    p, region, cloud = call.params, call.region, call.cloud
    sources = [get_image(region, i) for i in p["ImageIds"]]
    for dest in p["DestinationRegions"]:
        if dest not in REGIONS:
            raise ApiError("InvalidRegion.NotFound", f"The region `{dest}` does not exist.")
        if dest == region.name:
            raise ApiError(
                "InvalidRegion.Unavailable",
                "The destination regions must not include the source region.",
            )
    for image in sources:
        if image.image_type == "PUBLIC_IMAGE":
            raise ApiError(
                "UnauthorizedOperation.ImageNotBelongToAccount",
                f"The image `{image.id}` does not belong to this account.",
            )
        if image.state != "NORMAL":
            raise ApiError(
                "InvalidImageId.IncorrectState",
                f"The image `{image.id}` is {image.state}; only NORMAL images can be synced.",
            )
    name = p.get("ImageName")
    for dest in p["DestinationRegions"]:
        taken = {i.name for i in cloud.region(dest).images.values()}
        for image in sources:
            if (name or image.name) in taken:
                raise ApiError(
                    "InvalidImageName.Duplicate",
                    f"An image named `{name or image.name}` already exists in {dest}.",
                )
    if p.get("DryRun"):
        raise ApiError("DryRunOperation", "The request would have succeeded (DryRun).")
    result = []
    for image in sources:
        copies = []
        for dest in dict.fromkeys(p["DestinationRegions"]):
            copy = Image(
                id=new_id("img"),
                name=name or image.name,
                os_name=image.os_name,
                platform=image.platform,
                image_type="PRIVATE_IMAGE",
                source=image.source,
                size=image.size,
                description=image.description,
                creator=image.creator,
                tags=list(image.tags),
                layers=image.layers,
                base_root=image.base_root,
            )
            cloud.region(dest).images[copy.id] = copy
            copies.append(copy)
            result.append({"ImageId": copy.id, "Region": dest})
        cloud.sync_images(image, copies)
    return {"ImageSet": result} if p.get("ImageSetRequired") else {}


@action("cvm", m, ImageId=Required(str), AccountIds=Required([str]), Permission=Required(str))
def modify_image_share_permission(call: Call) -> dict[str, Any]:
    p = call.params
    image = get_image(call.region, p["ImageId"])
    if image.image_type == "PUBLIC_IMAGE":
        raise ApiError(
            "UnauthorizedOperation.ImageNotBelongToAccount",
            f"The image `{image.id}` does not belong to this account.",
        )
    if p["Permission"] not in ("SHARE", "CANCEL"):
        raise invalid_value("Permission", "must be SHARE or CANCEL")
    if image.state != "NORMAL":
        raise ApiError("InvalidImageId.IncorrectState", f"The image `{image.id}` is {image.state}.")
    for account in p["AccountIds"]:
        if not account.isdigit():
            raise ApiError("InvalidAccountId.NotFound", f"The account `{account}` does not exist.")
        if account == call.cloud.account_id:
            raise ApiError("InvalidAccountIs.YourSelf", "An image cannot be shared with its owner.")
    for account in p["AccountIds"]:
        if p["Permission"] == "SHARE":
            image.shared_with.setdefault(account, iso_now())
        else:
            image.shared_with.pop(account, None)
    return {}


@action("cvm", m, ImageId=Required(str))
def describe_image_share_permission(call: Call) -> dict[str, Any]:
    image = get_image(call.region, call.params["ImageId"])
    return {
        "SharePermissionSet": [
            {"CreatedTime": created, "AccountId": account}
            for account, created in sorted(image.shared_with.items())
        ]
    }
