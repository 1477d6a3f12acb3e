"""cvm 2017-03-12 actions: regions, zones, instance types and instances."""

from __future__ import annotations

import base64
import binascii
import re
import time
from typing import Any

from tencentcloud.cvm.v20170312 import models as m

from bakeansible.testing.tcloud.catalog import (
    DEFAULT_INSTANCE_TYPE,
    INSTANCE_TYPE_BY_NAME,
    INSTANCE_TYPES,
    REGIONS,
    zones,
)
from bakeansible.testing.tcloud.cloud import Call
from bakeansible.testing.tcloud.errors import ApiError, in_progress, invalid_value
from bakeansible.testing.tcloud.lookup import (
    describe,
    get_image,
    get_instance,
    get_key,
    newest_first_key,
    too_many,
)
from bakeansible.testing.tcloud.params import (
    FILTER,
    TAG_SPEC,
    Required,
    apply_filters,
    struct,
    tags_from_spec,
)
from bakeansible.testing.tcloud.router import action
from bakeansible.testing.tcloud.state import (
    Instance,
    new_id,
)
from bakeansible.testing.tcloud.vpc_defaults import default_network

# Regions, zones, instance types ------------------------------------------------------------


@action("cvm", m, needs_region=False)
def describe_regions(call: Call) -> dict[str, Any]:
    regions = [
        {"Region": name, "RegionName": display, "RegionState": "AVAILABLE"}
        for name, (display, _zones) in REGIONS.items()
    ]
    return {"TotalCount": len(regions), "RegionSet": regions}


@action("cvm", m)
def describe_zones(call: Call) -> dict[str, Any]:
    zone_set = zones(call.region.name)
    return {"TotalCount": len(zone_set), "ZoneSet": zone_set}


@action("cvm", m, Filters=[FILTER])
def describe_instance_type_configs(call: Call) -> dict[str, Any]:
    items = [
        {
            "Zone": zone["Zone"],
            "InstanceType": t.name,
            "InstanceFamily": t.family,
            "GPU": 0,
            "CPU": t.cpu,
            "Memory": t.memory,
            "FPGA": 0,
            "GpuCount": 0.0,
        }
        for zone in zones(call.region.name)
        for t in INSTANCE_TYPES
    ]
    items = apply_filters(
        items,
        call.params.get("Filters"),
        {
            "zone": lambda i: i["Zone"],
            "instance-family": lambda i: i["InstanceFamily"],
            "instance-type": lambda i: i["InstanceType"],
        },
    )
    return {"InstanceTypeConfigSet": items}


# Instances ----------------------------------------------------------------------------------


def instance_view(inst: Instance) -> dict[str, Any]:
    itype = INSTANCE_TYPE_BY_NAME[inst.instance_type]
    # The address exists once the container's network does (set when the launch succeeds).
    public = [inst.address] if inst.public_assigned and inst.address else None
    return {
        "Placement": {"Zone": inst.zone, "ProjectId": 0, "HostIds": None},
        "InstanceId": inst.id,
        "InstanceType": inst.instance_type,
        "CPU": itype.cpu,
        "Memory": itype.memory,
        "RestrictState": "NORMAL",
        "InstanceName": inst.name,
        "InstanceChargeType": inst.charge_type,
        "SystemDisk": {"Encrypt": False, "KmsKeyId": "", **inst.system_disk},
        "DataDisks": inst.data_disks or None,
        "PrivateIpAddresses": [inst.private_ip],
        "PublicIpAddresses": public,
        "InternetAccessible": inst.internet,
        "VirtualPrivateCloud": {
            "VpcId": inst.vpc_id,
            "SubnetId": inst.subnet_id,
            "AsVpcGateway": False,
        },
        "ImageId": inst.image_id,
        "RenewFlag": None,
        "CreatedTime": inst.created,
        "ExpiredTime": None,
        "OsName": inst.os_name,
        "SecurityGroupIds": list(inst.security_group_ids),
        "LoginSettings": {"KeyIds": list(inst.key_ids) or None},
        "InstanceState": inst.state,
        "Tags": list(inst.tags),
        "StopChargingMode": "NOT_APPLICABLE",
        "Uuid": inst.uuid,
        "LatestOperation": inst.latest_operation,
        "LatestOperationState": inst.latest_operation_state,
        "LatestOperationRequestId": inst.latest_operation_request_id,
        "LatestOperationErrorMsg": inst.latest_operation_error,
        "DisasterRecoverGroupId": "",
        "DisasterRecoverGroupIds": [],
        "IPv6Addresses": None,
        "CamRoleName": inst.cam_role_name,
        "HpcClusterId": "",
        "RdmaIpAddresses": None,
        "DedicatedClusterId": "",
        "IsolatedSource": "NOTISOLATED",
        "GPUInfo": None,
        "LicenseType": "TencentCloud",
        "DisableApiTermination": False,
        "DefaultLoginUser": "root",
        "DefaultLoginPort": 22,
        "HostName": inst.host_name,
    }


_TRAFFIC_POSTPAID = "TRAFFIC_POSTPAID_BY_HOUR"
_PASSWORD_CLASSES = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[()`~!@#$%^&*\-+=_|{}\[\]:;'<>,.?/]")


def _check_password(password: str) -> None:
    classes = sum(1 for c in _PASSWORD_CLASSES if re.search(c, password))
    if not 8 <= len(password) <= 30 or classes < 3:
        raise ApiError(
            "InvalidPassword",
            "Linux passwords must be 8 to 30 characters and contain at least three of: lower "
            "case letters, upper case letters, digits and special characters.",
        )


@action(
    "cvm",
    m,
    ImageId=Required(str),
    Placement=Required(struct(m.Placement, Zone=Required(str), ProjectId=int)),
    InstanceType=str,
    InstanceChargeType=str,
    InstanceCount=int,
    InstanceName=str,
    HostName=str,
    ClientToken=str,
    UserData=str,
    CamRoleName=str,
    DryRun=bool,
    SecurityGroupIds=[str],
    SystemDisk=struct(m.SystemDisk, DiskType=str, DiskSize=int),
    DataDisks=[struct(m.DataDisk, DiskType=str, DiskSize=int, SnapshotId=str)],
    VirtualPrivateCloud=struct(m.VirtualPrivateCloud, VpcId=Required(str), SubnetId=Required(str)),
    InternetAccessible=struct(
        m.InternetAccessible,
        InternetChargeType=str,
        InternetMaxBandwidthOut=int,
        PublicIpAssigned=bool,
        BandwidthPackageId=str,
    ),
    LoginSettings=struct(m.LoginSettings, Password=str, KeyIds=[str], KeepImageLogin=str),
    TagSpecification=[TAG_SPEC],
)
def run_instances(call: Call) -> dict[str, Any]:
    p, region, cloud = call.params, call.region, call.cloud
    token = p.get("ClientToken")
    if token:
        if len(token) > 64:
            raise invalid_value("ClientToken", "at most 64 ASCII characters")
        if token in region.client_tokens:
            return {"InstanceIdSet": list(region.client_tokens[token])}
    zone = p["Placement"]["Zone"]
    if zone not in {z["Zone"] for z in zones(region.name)}:
        raise ApiError("InvalidZone.MismatchRegion", f"The zone `{zone}` is not in {region.name}.")
    itype = p.get("InstanceType", DEFAULT_INSTANCE_TYPE)
    if itype not in INSTANCE_TYPE_BY_NAME:
        raise ApiError(
            "InvalidParameterValue.InstanceTypeNotFound", f"Instance type `{itype}` not found."
        )
    image = get_image(region, p["ImageId"])
    if image.state != "NORMAL":
        raise ApiError(
            "InvalidParameterValue.InvalidImageState",
            f"The image `{image.id}` is {image.state}, not NORMAL.",
        )
    if not cloud.has_root(image):
        raise ApiError(
            "UnsupportedOperation.NotSupportInstanceImage",
            f"The emulator cannot boot {image.id} ({image.name}): it has no root filesystem for "
            "it. Use the Debian public image or configure image_roots.",
        )
    count = p.get("InstanceCount", 1)
    if not 1 <= count <= 100:
        raise invalid_value("InstanceCount", "must be between 1 and 100")
    vpc_spec = p.get("VirtualPrivateCloud")
    if vpc_spec is None:
        vpc, subnet = default_network(region, zone)
    else:
        if vpc_spec["VpcId"] not in region.vpcs:
            raise ApiError(
                "InvalidParameterValue.VpcIdNotExist", f"VPC `{vpc_spec['VpcId']}` not found."
            )
        if vpc_spec["SubnetId"] not in region.subnets:
            raise ApiError(
                "InvalidParameterValue.SubnetNotExist",
                f"Subnet `{vpc_spec['SubnetId']}` not found.",
            )
        vpc = region.vpcs[vpc_spec["VpcId"]]
        subnet = region.subnets[vpc_spec["SubnetId"]]
        if subnet.vpc_id != vpc.id:
            raise ApiError(
                "InvalidParameterValue.VpcIdSubnetIdNotMatch",
                f"Subnet `{subnet.id}` is not in VPC `{vpc.id}`.",
            )
        if subnet.zone != zone:
            raise ApiError(
                "InvalidParameterValue.SubnetIdZoneIdNotMatch",
                f"Subnet `{subnet.id}` is in {subnet.zone}, not {zone}.",
            )
    sg_ids = p.get("SecurityGroupIds", [])
    for sg_id in sg_ids:
        if sg_id not in region.security_groups:
            raise ApiError(
                "InvalidSecurityGroupId.NotFound", f"Security group `{sg_id}` not found."
            )
    login = p.get("LoginSettings", {})
    key_ids = login.get("KeyIds", [])
    if len(key_ids) > 1:
        raise invalid_value("LoginSettings.KeyIds", "at most one key pair at launch")
    keys = [get_key(region, k).public_key for k in key_ids]
    password = login.get("Password")
    if password is not None:
        _check_password(password)
    if "UserData" in p:
        try:
            base64.b64decode(p["UserData"], validate=True)
        except binascii.Error:
            raise invalid_value("UserData", "must be base64") from None
    if p.get("DryRun"):
        raise ApiError("DryRunOperation", "The request would have succeeded (DryRun).")
    internet = p.get("InternetAccessible", {})
    bandwidth = internet.get("InternetMaxBandwidthOut", 0)
    public = internet.get("PublicIpAssigned", bandwidth > 0)
    name = p.get("InstanceName", "Unnamed")
    ids = []
    for _ in range(count):
        inst = Instance(
            id=new_id("ins"),
            name=name,
            zone=zone,
            instance_type=itype,
            image_id=image.id,
            os_name=image.os_name,
            vpc_id=vpc.id,
            subnet_id=subnet.id,
            security_group_ids=list(sg_ids),
            key_ids=list(key_ids),
            private_ip=cloud.allocate_private_ip(subnet),
            public_assigned=bool(public),
            internet={
                "InternetChargeType": internet.get(
                    "InternetChargeType", "TRAFFIC_POSTPAID_BY_HOUR"
                ),
                "InternetMaxBandwidthOut": bandwidth,
                "PublicIpAssigned": bool(public),
            },
            system_disk={
                "DiskType": p.get("SystemDisk", {}).get("DiskType", "CLOUD_PREMIUM"),
                "DiskId": new_id("disk"),
                "DiskSize": p.get("SystemDisk", {}).get("DiskSize", 50),
            },
            data_disks=[
                {
                    "DiskType": d.get("DiskType", "CLOUD_PREMIUM"),
                    "DiskId": new_id("disk"),
                    "DiskSize": d.get("DiskSize", 50),
                    "DeleteWithInstance": True,
                }
                for d in p.get("DataDisks", [])
            ],
            charge_type=p.get("InstanceChargeType", "POSTPAID_BY_HOUR"),
            tags=tags_from_spec(p.get("TagSpecification"), "instance"),
            host_name=p.get("HostName", ""),
            password=password,
            cam_role_name=p.get("CamRoleName", ""),
            layers=image.layers,
            base_root=image.base_root or "",
            latest_operation_request_id=call.request_id,
            visible_at=time.monotonic() + cloud.delays.visibility,
        )
        region.instances[inst.id] = inst
        cloud.layers.acquire(inst.layers)
        cloud.launch(region, inst, image, keys)
        ids.append(inst.id)
    if token:
        region.client_tokens[token] = ids
    return {"InstanceIdSet": ids}


@action("cvm", m, InstanceIds=[str], Filters=[FILTER], Offset=int, Limit=int)
def describe_instances(call: Call) -> dict[str, Any]:
    now = time.monotonic()
    return describe(
        call,
        sorted(
            (i for i in call.region.instances.values() if i.visible_at <= now),
            key=lambda i: newest_first_key(i.created),
        ),
        ids="InstanceIds",
        prefix="ins",
        max_ids=100,
        coexist=(
            "InvalidParameterCoexist",
            "InstanceIds and Filters cannot be specified together.",
        ),
        filters={
            "zone": lambda i: i.zone,
            "project-id": lambda i: "0",
            "vpc-id": lambda i: i.vpc_id,
            "subnet-id": lambda i: i.subnet_id,
            "instance-id": lambda i: i.id,
            "uuid": lambda i: i.uuid,
            "security-group-id": lambda i: i.security_group_ids,
            "instance-name": lambda i: i.name,
            "instance-charge-type": lambda i: i.charge_type,
            "instance-state": lambda i: i.state,
            "private-ip-address": lambda i: i.private_ip,
            "public-ip-address": lambda i: [i.address] if i.public_assigned and i.address else [],
            "image-id": lambda i: i.image_id,
        },
        view=instance_view,
        set_name="InstanceSet",
    )


def _targets(call: Call) -> list[Instance]:
    too_many(call.params["InstanceIds"])
    return [get_instance(call.region, i) for i in call.params["InstanceIds"]]


@action(
    "cvm",
    m,
    InstanceIds=Required([str]),
    ForceStop=bool,
    StopType=str,
    StoppedMode=str,
)
def stop_instances(call: Call) -> dict[str, Any]:
    targets = _targets(call)
    for inst in targets:
        if inst.operating:
            raise in_progress(inst.id)
        if inst.state != "RUNNING":
            raise ApiError(
                "UnsupportedOperation.InstanceStateNotRunning"
                if inst.state != "STOPPED"
                else "UnsupportedOperation.InstanceStateStopped",
                f"Instance `{inst.id}` is {inst.state}; only RUNNING instances can be stopped.",
            )
    for inst in targets:
        call.cloud.stop(inst, call.request_id)
    return {}


@action("cvm", m, InstanceIds=Required([str]))
def start_instances(call: Call) -> dict[str, Any]:
    targets = _targets(call)
    for inst in targets:
        if inst.operating:
            raise in_progress(inst.id)
        if inst.state != "STOPPED":
            raise ApiError(
                "UnsupportedOperation.InstanceStateRunning"
                if inst.state == "RUNNING"
                else "InvalidInstanceState",
                f"Instance `{inst.id}` is {inst.state}; only STOPPED instances can be started.",
            )
    for inst in targets:
        call.cloud.start(inst, call.request_id)
    return {}


@action("cvm", m, InstanceIds=Required([str]), ReleaseAddress=bool, ReleasePrepaidDataDisks=bool)
def terminate_instances(call: Call) -> dict[str, Any]:
    targets = _targets(call)
    for inst in targets:
        if inst.state == "TERMINATING":
            raise ApiError(
                "UnsupportedOperation.InstanceStateTerminating",
                f"Instance `{inst.id}` is already terminating.",
            )
        if inst.operating:
            raise in_progress(inst.id)
    for inst in targets:
        call.cloud.terminate(call.region, inst, call.request_id)
    return {}
