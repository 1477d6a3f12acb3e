"""Finding resources by id, with the real API's malformed/not-found error codes."""

from __future__ import annotations

import re

from bakeansible.testing.tcloud.errors import ApiError
from bakeansible.testing.tcloud.state import Image, Instance, KeyPair, RegionState

_ID_RE = {
    prefix: re.compile(rf"^{prefix}-[0-9a-z]{{8}}$") for prefix in ("ins", "img", "skey", "sg")
}
_MALFORMED = {
    "ins": "InvalidInstanceId.Malformed",
    "img": "InvalidImageId.Malformed",
    "skey": "InvalidKeyPairId.Malformed",
    "sg": "InvalidSecurityGroupId.NotFound",
}


def check_ids(ids: list[str], prefix: str) -> None:
    for rid in ids:
        if not _ID_RE[prefix].match(rid):
            raise ApiError(_MALFORMED[prefix], f"The id `{rid}` is malformed.")


def too_many(ids: list[str], limit: int = 100) -> None:
    if len(ids) > limit:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"At most {limit} ids per request.")


def get_image(region: RegionState, image_id: str) -> Image:
    check_ids([image_id], "img")
    image = region.images.get(image_id)
    if image is None:
        raise ApiError("InvalidImageId.NotFound", f"The image `{image_id}` does not exist.")
    return image


def get_key(region: RegionState, key_id: str) -> KeyPair:
    check_ids([key_id], "skey")
    key = region.key_pairs.get(key_id)
    if key is None:
        raise ApiError("InvalidKeyPairId.NotFound", f"The key pair `{key_id}` does not exist.")
    return key


def get_instance(region: RegionState, instance_id: str) -> Instance:
    check_ids([instance_id], "ins")
    inst = region.instances.get(instance_id)
    if inst is None:
        raise ApiError(
            "InvalidInstanceId.NotFound", f"The instance `{instance_id}` does not exist."
        )
    return inst


def newest_first_key(created: str) -> str:
    # Sort descending on an ISO string by mapping each digit to its complement.
    return created.translate(str.maketrans("0123456789", "9876543210"))
