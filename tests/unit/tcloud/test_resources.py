"""Describe semantics (pagination, filters, tags, regions) and the invariants of the cloud."""

from __future__ import annotations

import pytest

from bakeansible.testing.tcloud import TencentEmulator
from tests.unit.tcloud.conftest import api_error, call


def _vpc(emu: TencentEmulator, region: str = "ap-guangzhou", **extra: object) -> str:
    params = {"VpcName": "v", "CidrBlock": "10.0.0.0/16", **extra}
    return call(emu.vpc_client(region), "CreateVpc", **params)["Vpc"]["VpcId"]


def test_public_images_and_fuzzy_name_filter(emu: TencentEmulator) -> None:
    cvm = emu.cvm_client()
    debian = call(cvm, "DescribeImages", Filters=[{"Name": "image-name", "Values": ["debian"]}])
    assert [i["ImageId"] for i in debian["ImageSet"]] == ["img-eb30mz89"]
    image = debian["ImageSet"][0]
    assert image["ImageState"] == "NORMAL"
    assert image["ImageType"] == "PUBLIC_IMAGE"
    assert image["Platform"] == "Debian"
    centos = call(cvm, "DescribeImages", Filters=[{"Name": "image-name", "Values": ["CentOS 7"]}])
    assert {i["ImageName"] for i in centos["ImageSet"]} >= {"CentOS 7.6 64bit"}
    private = call(
        cvm, "DescribeImages", Filters=[{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]
    )
    assert private["TotalCount"] == 0
    assert (
        api_error(
            cvm,
            "DescribeImages",
            ImageIds=["img-eb30mz89"],
            Filters=[{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}],
        ).code
        == "InvalidParameter.InvalidParameterCoexistImageIdsFilters"
    )
    assert api_error(cvm, "DescribeImages", ImageIds=["nope"]).code == "InvalidImageId.Malformed"
    assert (
        api_error(cvm, "DescribeImages", Filters=[{"Name": "colour", "Values": ["x"]}]).code
        == "InvalidFilter"
    )


def test_image_pagination(emu: TencentEmulator) -> None:
    cvm = emu.cvm_client()
    total = call(cvm, "DescribeImages")["TotalCount"]
    pages = [
        call(cvm, "DescribeImages", Offset=offset, Limit=2)["ImageSet"]
        for offset in range(0, total, 2)
    ]
    ids = [i["ImageId"] for page in pages for i in page]
    assert len(ids) == len(set(ids)) == total
    assert api_error(cvm, "DescribeImages", Limit=101).code.startswith("InvalidParameterValue")


def test_vpc_pagination_defaults_to_20_and_takes_strings(emu: TencentEmulator) -> None:
    vpc = emu.vpc_client()
    for n in range(23):
        call(vpc, "CreateSecurityGroup", GroupName=f"g{n}", GroupDescription="d")
    first = call(vpc, "DescribeSecurityGroups")
    assert first["TotalCount"] == 23
    assert len(first["SecurityGroupSet"]) == 20
    rest = call(vpc, "DescribeSecurityGroups", Offset="20", Limit="20")
    assert len(rest["SecurityGroupSet"]) == 3
    for sg in first["SecurityGroupSet"] + rest["SecurityGroupSet"]:
        call(vpc, "DeleteSecurityGroup", SecurityGroupId=sg["SecurityGroupId"])
    assert emu.live_resources() == {}


def test_tags_and_filters_on_vpcs(emu: TencentEmulator) -> None:
    vpc = emu.vpc_client()
    tagged = _vpc(emu, Tags=[{"Key": "bake", "Value": "b1"}])
    _vpc(emu, VpcName="other")
    by_tag = call(vpc, "DescribeVpcs", Filters=[{"Name": "tag:bake", "Values": ["b1"]}])
    assert [v["VpcId"] for v in by_tag["VpcSet"]] == [tagged]
    assert by_tag["VpcSet"][0]["TagSet"] == [{"Key": "bake", "Value": "b1"}]
    by_key = call(vpc, "DescribeVpcs", Filters=[{"Name": "tag-key", "Values": ["bake"]}])
    assert by_key["TotalCount"] == 1
    by_name = call(vpc, "DescribeVpcs", Filters=[{"Name": "vpc-name", "Values": ["other"]}])
    assert by_name["TotalCount"] == 1
    assert (
        api_error(vpc, "DescribeVpcs", Filters=[{"Name": "colour", "Values": ["x"]}]).code
        == "InvalidParameter.FilterInvalidKey"
    )


def test_state_is_partitioned_by_region(emu: TencentEmulator) -> None:
    vpc_id = _vpc(emu, "ap-guangzhou")
    assert call(emu.vpc_client("ap-shanghai"), "DescribeVpcs")["TotalCount"] == 0
    assert call(emu.vpc_client("ap-guangzhou"), "DescribeVpcs", VpcIds=[vpc_id])["TotalCount"] == 1
    assert emu.live_resources() == {
        "ap-guangzhou": {
            "instances": [],
            "images": [],
            "key_pairs": [],
            "vpcs": [vpc_id],
            "subnets": [],
            "security_groups": [],
        }
    }


def test_vpc_and_subnet_invariants(emu: TencentEmulator) -> None:
    vpc = emu.vpc_client()
    assert api_error(vpc, "CreateVpc", VpcName="v", CidrBlock="8.8.0.0/16").code == (
        "InvalidParameterValue.Range"
    )
    assert api_error(vpc, "CreateVpc", VpcName="v", CidrBlock="10.0.0.300/16").code == (
        "InvalidParameterValue.Malformed"
    )
    vpc_id = _vpc(emu)
    subnet = dict(VpcId=vpc_id, SubnetName="s", Zone="ap-guangzhou-3")
    subnet_id = call(vpc, "CreateSubnet", CidrBlock="10.0.8.0/24", **subnet)["Subnet"]["SubnetId"]
    assert api_error(vpc, "CreateSubnet", CidrBlock="10.0.8.128/25", **subnet).code == (
        "InvalidParameterValue.SubnetConflict"
    )
    assert api_error(vpc, "CreateSubnet", CidrBlock="10.1.0.0/24", **subnet).code == (
        "InvalidParameterValue.SubnetRange"
    )
    assert api_error(vpc, "DeleteVpc", VpcId=vpc_id).code == "ResourceInUse"
    call(vpc, "DeleteSubnet", SubnetId=subnet_id)
    assert api_error(vpc, "DeleteSubnet", SubnetId=subnet_id).code == "ResourceNotFound"
    call(vpc, "DeleteVpc", VpcId=vpc_id)
    assert api_error(vpc, "DeleteVpc", VpcId=vpc_id).code == "InvalidVpcId.NotFound"
    assert api_error(vpc, "DeleteVpc", VpcId="vpc-NOPE").code == "InvalidVpcId.Malformed"


def test_security_group_policies(emu: TencentEmulator) -> None:
    vpc = emu.vpc_client()
    sg = call(vpc, "CreateSecurityGroup", GroupName="g", GroupDescription="d")["SecurityGroup"]
    sg_id = sg["SecurityGroupId"]
    # What Packer sends: only CidrBlock and Action.
    for direction in ("Ingress", "Egress"):
        call(
            vpc,
            "CreateSecurityGroupPolicies",
            SecurityGroupId=sg_id,
            SecurityGroupPolicySet={direction: [{"CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}]},
        )
    call(
        vpc,
        "CreateSecurityGroupPolicies",
        SecurityGroupId=sg_id,
        SecurityGroupPolicySet={
            "Ingress": [
                {"Protocol": "TCP", "Port": "22", "CidrBlock": "203.0.113.7", "Action": "ACCEPT"}
            ]
        },
    )
    policies = call(vpc, "DescribeSecurityGroupPolicies", SecurityGroupId=sg_id)
    ingress = policies["SecurityGroupPolicySet"]["Ingress"]
    assert [(p["Protocol"], p["Port"], p["PolicyIndex"]) for p in ingress] == [
        ("ALL", "ALL", 0),
        ("TCP", "22", 1),
    ]
    assert policies["SecurityGroupPolicySet"]["Version"] == "3"
    # PolicyIndex inserts before that policy (first match wins, so order matters).
    call(
        vpc,
        "CreateSecurityGroupPolicies",
        SecurityGroupId=sg_id,
        SecurityGroupPolicySet={
            "Ingress": [
                {"PolicyIndex": 1, "Protocol": "UDP", "Port": "53", "CidrBlock": "10.0.0.0/8",
                 "Action": "DROP"},
                {"PolicyIndex": 1, "Protocol": "ICMP", "CidrBlock": "10.0.0.0/8",
                 "Action": "DROP"},
            ]
        },
    )  # fmt: skip
    ingress = call(vpc, "DescribeSecurityGroupPolicies", SecurityGroupId=sg_id)[
        "SecurityGroupPolicySet"
    ]["Ingress"]
    assert [(p["Protocol"], p["PolicyIndex"]) for p in ingress] == [
        ("ALL", 0), ("UDP", 1), ("ICMP", 2), ("TCP", 3),
    ]  # fmt: skip
    for index in ([0, 1], [9]):
        bad_index = api_error(
            vpc,
            "CreateSecurityGroupPolicies",
            SecurityGroupId=sg_id,
            SecurityGroupPolicySet={
                "Ingress": [{"PolicyIndex": i, "CidrBlock": "10.0.0.0/8", "Action": "DROP"}
                            for i in index]
            },
        )  # fmt: skip
        assert bad_index.code == "InvalidParameterValue"
    bad = api_error(
        vpc,
        "CreateSecurityGroupPolicies",
        SecurityGroupId=sg_id,
        SecurityGroupPolicySet={"Ingress": [{"Action": "MAYBE"}]},
    )
    assert bad.code == "InvalidParameterValue"
    call(vpc, "DeleteSecurityGroup", SecurityGroupId=sg_id)
    assert api_error(vpc, "DeleteSecurityGroup", SecurityGroupId=sg_id).code == (
        "InvalidSecurityGroupID.NotFound"
    )


def test_key_pairs(emu: TencentEmulator) -> None:
    cvm = emu.cvm_client()
    created = call(
        cvm,
        "CreateKeyPair",
        KeyName="bake_1",
        ProjectId=0,
        TagSpecification=[{"ResourceType": "keypair", "Tags": [{"Key": "a", "Value": "b"}]}],
    )["KeyPair"]
    assert created["KeyId"].startswith("skey-")
    assert created["PrivateKey"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert created["PublicKey"].startswith("ssh-rsa ")
    assert api_error(cvm, "CreateKeyPair", KeyName="bake_1", ProjectId=0).code == (
        "InvalidKeyPairName.Duplicate"
    )
    assert api_error(cvm, "CreateKeyPair", KeyName="x" * 26, ProjectId=0).code == (
        "InvalidKeyPairNameTooLong"
    )
    assert api_error(cvm, "CreateKeyPair", KeyName="bad-name", ProjectId=0).code == (
        "InvalidKeyPairNameIncludeIllegalChar"
    )
    listed = call(cvm, "DescribeKeyPairs", Filters=[{"Name": "tag:a", "Values": ["b"]}])
    assert listed["TotalCount"] == 1
    assert "PrivateKey" not in listed["KeyPairSet"][0] or not listed["KeyPairSet"][0]["PrivateKey"]
    call(cvm, "DeleteKeyPairs", KeyIds=[created["KeyId"]])
    assert api_error(cvm, "DeleteKeyPairs", KeyIds=[created["KeyId"]]).code == (
        "InvalidKeyPairId.NotFound"
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {"ImageId": "img-eb30mz89", "Placement": {"Zone": "ap-shanghai-2"}},
            "InvalidZone.MismatchRegion",
        ),
        (
            {"ImageId": "img-00000000", "Placement": {"Zone": "ap-guangzhou-3"}},
            "InvalidImageId.NotFound",
        ),
        (
            {"ImageId": "img-9qabwvbn", "Placement": {"Zone": "ap-guangzhou-3"}},
            "UnsupportedOperation.NotSupportInstanceImage",
        ),
        (
            {
                "ImageId": "img-eb30mz89",
                "Placement": {"Zone": "ap-guangzhou-3"},
                "InstanceType": "Z9.HUGE",
            },
            "InvalidParameterValue.InstanceTypeNotFound",
        ),
        (
            {
                "ImageId": "img-eb30mz89",
                "Placement": {"Zone": "ap-guangzhou-3"},
                "VirtualPrivateCloud": {"VpcId": "vpc-00000000", "SubnetId": "subnet-00000000"},
            },
            "InvalidParameterValue.VpcIdNotExist",
        ),
        (
            {
                "ImageId": "img-eb30mz89",
                "Placement": {"Zone": "ap-guangzhou-3"},
                "LoginSettings": {"KeyIds": ["skey-00000000"]},
            },
            "InvalidKeyPairId.NotFound",
        ),
        (
            {"ImageId": "img-eb30mz89", "Placement": {"Zone": "ap-guangzhou-3"}, "DryRun": True},
            "DryRunOperation",
        ),
        ({"Placement": {"Zone": "ap-guangzhou-3"}}, "MissingParameter"),
    ],
)
def test_run_instances_validation(emu: TencentEmulator, params: dict, code: str) -> None:
    assert api_error(emu.cvm_client(), "RunInstances", **params).code == code
    assert emu.live_resources() == {}


def test_instance_lookups(emu: TencentEmulator) -> None:
    cvm = emu.cvm_client()
    assert call(cvm, "DescribeInstances", InstanceIds=["ins-00000000"])["TotalCount"] == 0
    assert api_error(cvm, "DescribeInstances", InstanceIds=["i-1"]).code == (
        "InvalidInstanceId.Malformed"
    )
    assert api_error(cvm, "TerminateInstances", InstanceIds=["ins-00000000"]).code == (
        "InvalidInstanceId.NotFound"
    )
    assert api_error(cvm, "CreateImage", ImageName="x", InstanceId="ins-00000000").code == (
        "InvalidInstanceId.NotFound"
    )
    assert api_error(cvm, "DeleteImages", ImageIds=["img-eb30mz89"]).code == (
        "UnauthorizedOperation.ImageNotBelongToAccount"
    )
    assert (
        api_error(
            cvm, "SyncImages", ImageIds=["img-eb30mz89"], DestinationRegions=["xx-nowhere"]
        ).code
        == "InvalidRegion.NotFound"
    )
