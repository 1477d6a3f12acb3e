"""Finding resources by id or by filters, with the real API's malformed/not-found error codes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from bakeansible.testing.tcloud.cloud import Call
from bakeansible.testing.tcloud.errors import ApiError
from bakeansible.testing.tcloud.params import Getter, apply_filters, paginate
from bakeansible.testing.tcloud.state import (
    Image,
    Instance,
    KeyPair,
    RegionState,
    SecurityGroup,
    Subnet,
    Vpc,
)

# What each service answers for an id that does not look like one (codes as the API spells them).
_MALFORMED = {
    "ins": "InvalidInstanceId.Malformed",
    "img": "InvalidImageId.Malformed",
    "skey": "InvalidKeyPairId.Malformed",
    "vpc": "InvalidVpcId.Malformed",
    "subnet": "InvalidParameterValue.Malformed",
    "sg": "InvalidSecurityGroupID.Malformed",
}
_ID_RE = {prefix: re.compile(rf"^{prefix}-[0-9a-z]{{8}}$") for prefix in _MALFORMED}


class _Tagged(Protocol):
    id: str
    tags: list[dict[str, str]]


R = TypeVar("R")
T = TypeVar("T", bound=_Tagged)


def check_ids(ids: list[str], prefix: str) -> None:
    for rid in ids:
        if not _ID_RE[prefix].match(rid):
            raise ApiError(_MALFORMED[prefix], f"The id `{rid}` is malformed.")


def too_many(ids: list[str], limit: int = 100) -> None:
    if len(ids) > limit:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"At most {limit} ids per request.")


def _get(table: Mapping[str, R], rid: str, prefix: str, code: str, what: str) -> R:
    check_ids([rid], prefix)
    found = table.get(rid)
    if found is None:
        raise ApiError(code, f"The {what} `{rid}` does not exist.")
    return found


def get_image(region: RegionState, image_id: str) -> Image:
    return _get(region.images, image_id, "img", "InvalidImageId.NotFound", "image")


def get_key(region: RegionState, key_id: str) -> KeyPair:
    return _get(region.key_pairs, key_id, "skey", "InvalidKeyPairId.NotFound", "key pair")


def get_instance(region: RegionState, instance_id: str) -> Instance:
    return _get(region.instances, instance_id, "ins", "InvalidInstanceId.NotFound", "instance")


def get_vpc(region: RegionState, vpc_id: str) -> Vpc:
    return _get(region.vpcs, vpc_id, "vpc", "InvalidVpcId.NotFound", "VPC")


def get_subnet(region: RegionState, subnet_id: str) -> Subnet:
    return _get(region.subnets, subnet_id, "subnet", "ResourceNotFound", "subnet")


def get_sg(region: RegionState, sg_id: str) -> SecurityGroup:
    return _get(
        region.security_groups, sg_id, "sg", "InvalidSecurityGroupID.NotFound", "security group"
    )


def describe(
    call: Call,
    items: Iterable[T],
    *,
    ids: str,
    prefix: str,
    coexist: tuple[str, str],
    filters: dict[str, Getter],
    view: Callable[[T], dict[str, Any]],
    set_name: str,
    max_ids: int | None = None,
    fuzzy: frozenset[str] = frozenset(),
    invalid_filter: str = "InvalidFilter",
) -> dict[str, Any]:
    """One page of a Describe* answer: ``items`` (in answer order) narrowed by the ``ids``
    parameter or by ``Filters`` (``coexist`` is the error for giving both), ``Offset``/``Limit``.
    """
    p = call.params
    wanted = p.get(ids)
    if wanted and p.get("Filters"):
        raise ApiError(*coexist)
    if wanted:
        check_ids(wanted, prefix)
        if max_ids is not None:
            too_many(wanted, max_ids)
        items = [x for x in items if x.id in wanted]
    found = apply_filters(
        items,
        p.get("Filters"),
        filters,
        fuzzy=fuzzy,
        tags=lambda x: x.tags,
        invalid_code=invalid_filter,
    )
    page = paginate(found, p.get("Offset"), p.get("Limit"))
    return {"TotalCount": len(found), set_name: [view(x) for x in page]}


def newest_first_key(created: str) -> str:
    # Sort descending on an ISO string by mapping each digit to its complement.
    return created.translate(str.maketrans("0123456789", "9876543210"))
