"""cvm 2017-03-12 key pair actions, including (dis)associating them with instances."""

from __future__ import annotations

import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tencentcloud.cvm.v20170312 import models as m

from bakeansible.testing.tcloud.cloud import Call
from bakeansible.testing.tcloud.errors import ApiError, in_progress
from bakeansible.testing.tcloud.lookup import (
    describe,
    get_instance,
    get_key,
    newest_first_key,
    too_many,
)
from bakeansible.testing.tcloud.params import FILTER, TAG_SPEC, Required, tags_from_spec
from bakeansible.testing.tcloud.router import action
from bakeansible.testing.tcloud.state import KeyPair, RegionState, new_id

# Key pairs ----------------------------------------------------------------------------------

_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")


def keypair_view(region: RegionState, key: KeyPair) -> dict[str, Any]:
    return {
        "KeyId": key.id,
        "KeyName": key.name,
        "ProjectId": key.project_id,
        "Description": key.description,
        "PublicKey": key.public_key,
        "AssociatedInstanceIds": [i.id for i in region.live_instances_using("key_ids", key.id)],
        "CreatedTime": key.created,
        "Tags": list(key.tags),
    }


def generate_key(comment: str) -> tuple[str, str]:
    """A fresh RSA key pair: (PEM "BEGIN RSA PRIVATE KEY" text, OpenSSH public key line)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return pem, f"{public.decode()} {comment}"


@action("cvm", m, KeyName=Required(str), ProjectId=Required(int), TagSpecification=[TAG_SPEC])
def create_key_pair(call: Call) -> dict[str, Any]:
    p, region = call.params, call.region
    name = p["KeyName"]
    if not name:
        raise ApiError("InvalidKeyPairNameEmpty", "The key pair name must not be empty.")
    if len(name) > 25:
        raise ApiError("InvalidKeyPairNameTooLong", "Key pair names have at most 25 characters.")
    if not _KEY_NAME_RE.match(name):
        raise ApiError(
            "InvalidKeyPairNameIncludeIllegalChar",
            "Key pair names may contain only letters, digits and underscores.",
        )
    if any(k.name == name for k in region.key_pairs.values()):
        raise ApiError("InvalidKeyPairName.Duplicate", f"A key pair named `{name}` exists.")
    key_id = new_id("skey")
    private, public = generate_key(key_id.replace("-", "_"))
    key = KeyPair(
        id=key_id,
        name=name,
        project_id=p["ProjectId"],
        public_key=public,
        tags=tags_from_spec(p.get("TagSpecification"), "keypair"),
    )
    region.key_pairs[key.id] = key
    return {"KeyPair": {**keypair_view(region, key), "PrivateKey": private}}


@action("cvm", m, KeyIds=Required([str]))
def delete_key_pairs(call: Call) -> dict[str, Any]:
    region = call.region
    too_many(call.params["KeyIds"])
    keys = [get_key(region, k) for k in call.params["KeyIds"]]
    for key in keys:
        users = [i.id for i in region.live_instances_using("key_ids", key.id)]
        if users or region.held(key.id):
            raise ApiError(
                "InvalidKeyPair.NotSupported",
                f"The key pair `{key.id}` is associated with instances {users or '(terminating)'}"
                "; disassociate it first.",
            )
        images = [i.id for i in region.images.values() if key.id in i.key_ids]
        if images:
            raise ApiError(
                "InvalidKeyPair.NotSupported",
                f"The key pair `{key.id}` associates with images {images}.",
            )
    for key in keys:
        del region.key_pairs[key.id]
    return {}


@action("cvm", m, KeyIds=[str], Filters=[FILTER], Offset=int, Limit=int)
def describe_key_pairs(call: Call) -> dict[str, Any]:
    region = call.region
    return describe(
        call,
        sorted(region.key_pairs.values(), key=lambda k: newest_first_key(k.created)),
        ids="KeyIds",
        prefix="skey",
        coexist=("InvalidParameter", "KeyIds and Filters cannot be specified together."),
        filters={"project-id": lambda k: str(k.project_id), "key-name": lambda k: k.name},
        view=lambda k: keypair_view(region, k),
        set_name="KeyPairSet",
    )


def _key_change(call: Call, add: bool) -> dict[str, Any]:
    p, region = call.params, call.region
    too_many(p["InstanceIds"])
    targets = [get_instance(region, i) for i in p["InstanceIds"]]
    keys = {k: get_key(region, k).public_key for k in p["KeyIds"]}
    for inst in targets:
        if inst.operating:
            raise in_progress(inst.id)
        if inst.state == "RUNNING" and not p.get("ForceStop"):
            raise ApiError(
                "UnsupportedOperation.InstanceStateRunning",
                f"Instance `{inst.id}` is RUNNING; stop it first or set ForceStop.",
            )
        if inst.state not in ("RUNNING", "STOPPED"):
            raise ApiError("InvalidInstanceState", f"Instance `{inst.id}` is {inst.state}.")
    operation = "AssociateInstancesKeyPairs" if add else "DisassociateInstancesKeyPairs"
    for inst in targets:
        call.cloud.rekey(inst, operation, call.request_id, keys, add)
    return {}


@action("cvm", m, InstanceIds=Required([str]), KeyIds=Required([str]), ForceStop=bool)
def associate_instances_key_pairs(call: Call) -> dict[str, Any]:
    return _key_change(call, add=True)


@action("cvm", m, InstanceIds=Required([str]), KeyIds=Required([str]), ForceStop=bool)
def disassociate_instances_key_pairs(call: Call) -> dict[str, Any]:
    return _key_change(call, add=False)
