"""vpc 2017-03-12 actions: VPCs, subnets, security groups and their policies."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from tencentcloud.vpc.v20170312 import models as v

from bakeansible.testing.tcloud.catalog import zones
from bakeansible.testing.tcloud.cloud import Call
from bakeansible.testing.tcloud.errors import ApiError, invalid_value
from bakeansible.testing.tcloud.lookup import describe, get_sg, get_subnet, get_vpc
from bakeansible.testing.tcloud.params import FILTER, TAG, Required, plain_tags, struct
from bakeansible.testing.tcloud.router import action
from bakeansible.testing.tcloud.state import (
    RegionState,
    SecurityGroup,
    Subnet,
    Vpc,
    new_id,
    vpc_now,
)

_PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_FILTER_CODE = "InvalidParameter.FilterInvalidKey"


def _coexist(ids: str) -> tuple[str, str]:
    return "InvalidParameter.Coexist", f"{ids} and Filters cannot be combined."


def _network(cidr: str, name: str = "CidrBlock") -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        raise ApiError(
            "InvalidParameterValue.Malformed", f"`{name}` `{cidr}` is not a valid CIDR block."
        ) from None


def _in_use(region: RegionState, rid: str, attr: str, what: str) -> None:
    users = [i.id for i in region.live_instances_using(attr, rid)]
    if users or region.held(rid):
        detail = f"instances {users}" if users else "an instance that is being released"
        raise ApiError("ResourceInUse", f"The {what} `{rid}` is in use by {detail}.")


# VPCs ---------------------------------------------------------------------------------------


def vpc_view(vpc: Vpc) -> dict[str, Any]:
    return {
        "VpcName": vpc.name,
        "VpcId": vpc.id,
        "CidrBlock": vpc.cidr,
        "IsDefault": vpc.is_default,
        "EnableMulticast": vpc.multicast,
        "CreatedTime": vpc.created,
        "EnableDhcp": True,
        "Ipv6CidrBlock": "",
        "DhcpOptionsId": "",
        "DnsServerSet": list(vpc.dns_servers),
        "DomainName": vpc.domain_name,
        "TagSet": list(vpc.tags),
        "AssistantCidrSet": [],
        "EnableRouteVpcPublish": False,
        "Ipv6CidrBlockSet": [],
    }


@action(
    "vpc",
    v,
    VpcName=Required(str),
    CidrBlock=Required(str),
    EnableMulticast=str,
    DnsServers=[str],
    DomainName=str,
    Tags=[TAG],
)
def create_vpc(call: Call) -> dict[str, Any]:
    p, region = call.params, call.region
    if not p["VpcName"] or len(p["VpcName"].encode()) > 60:
        raise ApiError("InvalidParameterValue.Range", "`VpcName` must be 1 to 60 bytes.")
    net = _network(p["CidrBlock"])
    if not any(net.subnet_of(r) for r in _PRIVATE_RANGES) or not 12 <= net.prefixlen <= 28:
        raise ApiError(
            "InvalidParameterValue.Range",
            "The VPC CIDR must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 with a "
            "mask between /12 and /28.",
        )
    vpc = Vpc(
        id=new_id("vpc"),
        name=p["VpcName"],
        cidr=str(net),
        tags=plain_tags(p.get("Tags")),
        domain_name=p.get("DomainName", ""),
        multicast=p.get("EnableMulticast", "false").lower() == "true",
    )
    if p.get("DnsServers"):
        vpc.dns_servers = list(p["DnsServers"])
    region.vpcs[vpc.id] = vpc
    return {"Vpc": vpc_view(vpc)}


@action("vpc", v, VpcIds=[str], Filters=[FILTER], Offset=str, Limit=str)
def describe_vpcs(call: Call) -> dict[str, Any]:
    return describe(
        call,
        sorted(call.region.vpcs.values(), key=lambda x: x.created, reverse=True),
        ids="VpcIds",
        prefix="vpc",
        coexist=_coexist("VpcIds"),
        filters={
            "vpc-name": lambda x: x.name,
            "is-default": lambda x: str(x.is_default).lower(),
            "vpc-id": lambda x: x.id,
            "cidr-block": lambda x: x.cidr,
            "is-multicast": lambda x: str(x.multicast).lower(),
        },
        invalid_filter=_FILTER_CODE,
        view=vpc_view,
        set_name="VpcSet",
    )


@action("vpc", v, VpcId=Required(str))
def delete_vpc(call: Call) -> dict[str, Any]:
    region = call.region
    rid = get_vpc(region, call.params["VpcId"]).id
    subnets = [s.id for s in region.subnets.values() if s.vpc_id == rid]
    if subnets:
        raise ApiError("ResourceInUse", f"The VPC `{rid}` still has subnets {subnets}.")
    _in_use(region, rid, "vpc_id", "VPC")
    del region.vpcs[rid]
    return {}


# Subnets ------------------------------------------------------------------------------------


def subnet_view(subnet: Subnet) -> dict[str, Any]:
    total = ipaddress.ip_network(subnet.cidr).num_addresses
    return {
        "VpcId": subnet.vpc_id,
        "SubnetId": subnet.id,
        "SubnetName": subnet.name,
        "CidrBlock": subnet.cidr,
        "IsDefault": subnet.is_default,
        "EnableBroadcast": False,
        "Zone": subnet.zone,
        "RouteTableId": subnet.route_table_id,
        "CreatedTime": subnet.created,
        "AvailableIpAddressCount": max(0, total - 3 - len(subnet.used)),
        "Ipv6CidrBlock": "",
        "NetworkAclId": subnet.network_acl_id,
        "IsRemoteVpcSnat": False,
        "TotalIpAddressCount": total,
        "TagSet": list(subnet.tags),
        "CdcId": "",
        "IsCdcSubnet": 0,
    }


@action(
    "vpc",
    v,
    VpcId=Required(str),
    SubnetName=Required(str),
    CidrBlock=Required(str),
    Zone=Required(str),
    Tags=[TAG],
)
def create_subnet(call: Call) -> dict[str, Any]:
    p, region = call.params, call.region
    vpc = get_vpc(region, p["VpcId"])
    if not p["SubnetName"] or len(p["SubnetName"].encode()) > 60:
        raise ApiError("InvalidParameterValue.Range", "`SubnetName` must be 1 to 60 bytes.")
    if p["Zone"] not in {z["Zone"] for z in zones(region.name)}:
        raise invalid_value("Zone", f"`{p['Zone']}` is not a zone of {region.name}")
    net = _network(p["CidrBlock"])
    if not net.subnet_of(ipaddress.IPv4Network(vpc.cidr)) or net.prefixlen > 29:
        raise ApiError(
            "InvalidParameterValue.SubnetRange",
            f"The subnet CIDR {net} must lie inside the VPC's {vpc.cidr} with a mask up to /29.",
        )
    for other in region.subnets.values():
        if other.vpc_id == vpc.id and net.overlaps(ipaddress.IPv4Network(other.cidr)):
            raise ApiError(
                "InvalidParameterValue.SubnetConflict",
                f"The CIDR {net} overlaps subnet `{other.id}` ({other.cidr}).",
            )
    subnet = Subnet(
        id=new_id("subnet"),
        name=p["SubnetName"],
        vpc_id=vpc.id,
        cidr=str(net),
        zone=p["Zone"],
        tags=plain_tags(p.get("Tags")),
    )
    region.subnets[subnet.id] = subnet
    return {"Subnet": subnet_view(subnet)}


@action("vpc", v, SubnetIds=[str], Filters=[FILTER], Offset=str, Limit=str)
def describe_subnets(call: Call) -> dict[str, Any]:
    return describe(
        call,
        sorted(call.region.subnets.values(), key=lambda x: x.created, reverse=True),
        ids="SubnetIds",
        prefix="subnet",
        coexist=_coexist("SubnetIds"),
        filters={
            "subnet-id": lambda x: x.id,
            "vpc-id": lambda x: x.vpc_id,
            "cidr-block": lambda x: x.cidr,
            "is-default": lambda x: str(x.is_default).lower(),
            "subnet-name": lambda x: x.name,
            "zone": lambda x: x.zone,
        },
        invalid_filter=_FILTER_CODE,
        view=subnet_view,
        set_name="SubnetSet",
    )


@action("vpc", v, SubnetId=Required(str))
def delete_subnet(call: Call) -> dict[str, Any]:
    region = call.region
    rid = get_subnet(region, call.params["SubnetId"]).id
    _in_use(region, rid, "subnet_id", "subnet")
    del region.subnets[rid]
    return {}


# Security groups ----------------------------------------------------------------------------


def sg_view(sg: SecurityGroup) -> dict[str, Any]:
    return {
        "SecurityGroupId": sg.id,
        "SecurityGroupName": sg.name,
        "SecurityGroupDesc": sg.description,
        "ProjectId": sg.project_id,
        "IsDefault": False,
        "CreatedTime": sg.created,
        "TagSet": list(sg.tags),
        "UpdateTime": sg.updated,
    }


@action(
    "vpc",
    v,
    GroupName=Required(str),
    GroupDescription=Required(str),
    ProjectId=str,
    Tags=[TAG],
)
def create_security_group(call: Call) -> dict[str, Any]:
    p = call.params
    if not p["GroupName"] or len(p["GroupName"]) > 60:
        raise ApiError("InvalidParameterValue.Range", "`GroupName` must be 1 to 60 characters.")
    if len(p["GroupDescription"]) > 100:
        raise ApiError("InvalidParameterValue.Range", "`GroupDescription` is too long.")
    sg = SecurityGroup(
        id=new_id("sg"),
        name=p["GroupName"],
        description=p["GroupDescription"],
        project_id=p.get("ProjectId", "0"),
        tags=plain_tags(p.get("Tags")),
    )
    call.region.security_groups[sg.id] = sg
    return {"SecurityGroup": sg_view(sg)}


@action(
    "vpc",
    v,
    SecurityGroupIds=[str],
    Filters=[FILTER],
    Offset=str,
    Limit=str,
    OrderField=str,
    OrderDirection=str,
)
def describe_security_groups(call: Call) -> dict[str, Any]:
    return describe(
        call,
        sorted(call.region.security_groups.values(), key=lambda x: x.created, reverse=True),
        ids="SecurityGroupIds",
        prefix="sg",
        coexist=_coexist("SecurityGroupIds"),
        filters={
            "security-group-id": lambda x: x.id,
            "security-group-name": lambda x: x.name,
            "project-id": lambda x: x.project_id,
        },
        invalid_filter=_FILTER_CODE,
        view=sg_view,
        set_name="SecurityGroupSet",
    )


@action("vpc", v, SecurityGroupId=Required(str))
def delete_security_group(call: Call) -> dict[str, Any]:
    region = call.region
    sg = get_sg(region, call.params["SecurityGroupId"])
    _in_use(region, sg.id, "security_group_ids", "security group")
    del region.security_groups[sg.id]
    return {}


_POLICY = struct(
    v.SecurityGroupPolicy,
    PolicyIndex=int,
    Protocol=str,
    Port=str,
    CidrBlock=str,
    Ipv6CidrBlock=str,
    SecurityGroupId=str,
    Action=str,
    PolicyDescription=str,
)
_PORT_RE = re.compile(r"^(all|\d{1,5}(-\d{1,5})?(,\d{1,5})*)$", re.IGNORECASE)


def _policy(raw: dict[str, Any], direction: str, index: int) -> dict[str, Any]:
    where = f"SecurityGroupPolicySet.{direction}.{index}"
    action_ = raw.get("Action", "").upper()
    if action_ not in ("ACCEPT", "DROP"):
        raise invalid_value(f"{where}.Action", "must be ACCEPT or DROP")
    protocol = raw.get("Protocol", "ALL").upper()
    if protocol not in ("TCP", "UDP", "ICMP", "ICMPV6", "ALL", "GRE"):
        raise invalid_value(f"{where}.Protocol", "must be TCP, UDP, ICMP, ICMPv6 or ALL")
    port = raw.get("Port", "ALL")
    if not _PORT_RE.match(port):
        raise invalid_value(f"{where}.Port", "must be ALL, a port, a range or a list")
    if port.upper() != "ALL" and protocol not in ("TCP", "UDP"):
        raise invalid_value(f"{where}.Port", "ports only apply to TCP and UDP")
    cidr = raw.get("CidrBlock", "")
    if cidr:
        _network(cidr if "/" in cidr else cidr + "/32", f"{where}.CidrBlock")
    return {
        "Protocol": protocol if protocol != "ICMPV6" else "ICMPv6",
        "Port": port.upper() if port.upper() == "ALL" else port,
        "ServiceTemplate": {"ServiceId": "", "ServiceGroupId": ""},
        "CidrBlock": cidr,
        "Ipv6CidrBlock": raw.get("Ipv6CidrBlock", ""),
        "SecurityGroupId": raw.get("SecurityGroupId", ""),
        "AddressTemplate": {"AddressId": "", "AddressGroupId": ""},
        "Action": action_,
        "PolicyDescription": raw.get("PolicyDescription", ""),
        "ModifyTime": vpc_now(),
    }


@action(
    "vpc",
    v,
    SecurityGroupId=Required(str),
    SecurityGroupPolicySet=Required(
        struct(v.SecurityGroupPolicySet, Version=str, Egress=[_POLICY], Ingress=[_POLICY])
    ),
)
def create_security_group_policies(call: Call) -> dict[str, Any]:
    p = call.params
    sg = get_sg(call.region, p["SecurityGroupId"])
    policy_set = p["SecurityGroupPolicySet"]
    ingress = [_policy(x, "Ingress", i) for i, x in enumerate(policy_set.get("Ingress", []))]
    egress = [_policy(x, "Egress", i) for i, x in enumerate(policy_set.get("Egress", []))]
    if not ingress and not egress:
        raise ApiError("MissingParameter", "Give at least one Ingress or Egress policy.")
    if ingress and egress:
        raise ApiError(
            "InvalidParameter.Coexist", "Ingress and Egress cannot be created in one request."
        )
    if "Version" in policy_set and policy_set["Version"] != str(sg.version):
        raise ApiError(
            "InvalidParameterValue.Range",
            f"Version {policy_set['Version']} is stale; the current version is {sg.version}.",
        )
    raw = policy_set.get("Ingress") or policy_set.get("Egress") or []
    given = [x["PolicyIndex"] for x in raw if "PolicyIndex" in x]
    if given and (len(set(given)) > 1 or len(given) != len(raw)):
        raise invalid_value("PolicyIndex", "must be the same in every policy of the request")
    target = sg.ingress if ingress else sg.egress
    # PolicyIndex inserts before that policy (0: first); without it, policies go last.
    at = given[0] if given else len(target)
    if not 0 <= at <= len(target):
        raise invalid_value("PolicyIndex", f"must be between 0 and {len(target)}")
    target[at:at] = ingress or egress
    sg.version += 1
    sg.updated = vpc_now()
    call.cloud.security_group_changed(call.region, sg.id)
    return {}


@action("vpc", v, SecurityGroupId=Required(str))
def describe_security_group_policies(call: Call) -> dict[str, Any]:
    sg = get_sg(call.region, call.params["SecurityGroupId"])

    def indexed(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**pol, "PolicyIndex": i} for i, pol in enumerate(policies)]

    return {
        "SecurityGroupPolicySet": {
            "Version": str(sg.version),
            "Egress": indexed(sg.egress),
            "Ingress": indexed(sg.ingress),
            "PolicyStatistics": {
                "IngressIPv4TotalCount": len(sg.ingress),
                "IngressIPv6TotalCount": 0,
                "EgressIPv4TotalCount": len(sg.egress),
                "EgressIPv6TotalCount": 0,
            },
        }
    }
