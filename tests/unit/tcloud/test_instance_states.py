"""Instance state machine without booting a container (every launch is made to fail)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from bakeansible.testing.tcloud import Delays, TencentEmulator
from tests.unit.tcloud.conftest import api_error, call


@pytest.fixture
def slow_emu() -> Iterator[TencentEmulator]:
    delays = Delays(launch=0.2, terminate=0.3, release=0.6, visibility=0.4)
    with TencentEmulator(delays=delays) as emulator:
        yield emulator
        emulator.wait_idle()
        assert emulator.live_resources() == {}


def _net(emu: TencentEmulator) -> dict[str, str]:
    vpc = emu.vpc_client()
    vpc_id = call(vpc, "CreateVpc", VpcName="v", CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_id = call(
        vpc,
        "CreateSubnet",
        VpcId=vpc_id,
        SubnetName="s",
        CidrBlock="10.0.1.0/24",
        Zone="ap-guangzhou-4",
    )["Subnet"]["SubnetId"]
    return {"VpcId": vpc_id, "SubnetId": subnet_id}


def _describe(emu: TencentEmulator, instance_id: str) -> dict[str, Any] | None:
    found = call(emu.cvm_client(), "DescribeInstances", InstanceIds=[instance_id])
    return found["InstanceSet"][0] if found["TotalCount"] else None


def _until(probe: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_launch_failure_termination_and_release_window(slow_emu: TencentEmulator) -> None:
    emu, cvm, vpc = slow_emu, slow_emu.cvm_client(), slow_emu.vpc_client()
    net = _net(emu)
    emu.faults.fail_launch(message="no capacity (injected)")
    run = dict(
        ImageId="img-eb30mz89",
        Placement={"Zone": "ap-guangzhou-4"},
        VirtualPrivateCloud=net,
        ClientToken="token-1",
    )
    instance_id = call(cvm, "RunInstances", **run)["InstanceIdSet"][0]
    # Eventual consistency: not visible at first (the builder must tolerate TotalCount == 0).
    assert _describe(emu, instance_id) is None
    inst = _until(
        lambda: (i := _describe(emu, instance_id)) and i["InstanceState"] != "PENDING" and i
    )
    assert inst["InstanceState"] == "LAUNCH_FAILED"
    assert inst["LatestOperation"] == "RunInstances"
    assert inst["LatestOperationState"] == "FAILED"
    assert inst["LatestOperationErrorMsg"] == "no capacity (injected)"
    assert inst["PrivateIpAddresses"] == ["10.0.1.2"]
    assert inst["PublicIpAddresses"] is None

    call(cvm, "TerminateInstances", InstanceIds=[instance_id])
    assert _describe(emu, instance_id)["InstanceState"] == "TERMINATING"
    assert api_error(cvm, "TerminateInstances", InstanceIds=[instance_id]).code == (
        "UnsupportedOperation.InstanceStateTerminating"
    )
    _until(lambda: _describe(emu, instance_id) is None)
    # Gone, but its subnet stays in use for a moment.
    assert api_error(vpc, "DeleteSubnet", SubnetId=net["SubnetId"]).code == "ResourceInUse"
    _until(lambda: _try(lambda: call(vpc, "DeleteSubnet", SubnetId=net["SubnetId"])))
    call(vpc, "DeleteVpc", VpcId=net["VpcId"])
    # A reused ClientToken returns the old (now terminated) instance id, as the cloud does.
    assert call(cvm, "RunInstances", **run)["InstanceIdSet"] == [instance_id]


def _try(fn: Any) -> bool:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )

    try:
        fn()
    except TencentCloudSDKException:
        return False
    return True


def test_default_network_is_not_a_leak(slow_emu: TencentEmulator) -> None:
    emu, cvm = slow_emu, slow_emu.cvm_client()
    emu.faults.fail_launch()
    instance_id = call(
        cvm, "RunInstances", ImageId="img-eb30mz89", Placement={"Zone": "ap-guangzhou-3"}
    )["InstanceIdSet"][0]
    inst = _until(
        lambda: (i := _describe(emu, instance_id)) and i["InstanceState"] != "PENDING" and i
    )
    assert inst["PrivateIpAddresses"][0].startswith("172.16.")
    default = call(
        emu.vpc_client(), "DescribeVpcs", Filters=[{"Name": "is-default", "Values": ["true"]}]
    )
    assert default["VpcSet"][0]["VpcName"] == "Default-VPC"
    call(cvm, "TerminateInstances", InstanceIds=[instance_id])
    _until(lambda: _describe(emu, instance_id) is None)


def test_documented_always_present_fields(slow_emu: TencentEmulator) -> None:
    """Fields the API documents as always present are there, typed as the SDK's models say."""
    from tencentcloud.cvm.v20170312 import models as cvm_models
    from tencentcloud.vpc.v20170312 import models as vpc_models

    emu, cvm, vpc = slow_emu, slow_emu.cvm_client(), slow_emu.vpc_client()
    created = call(vpc, "CreateVpc", VpcName="v", CidrBlock="10.0.0.0/16")["Vpc"]
    described = call(vpc, "DescribeVpcs", VpcIds=[created["VpcId"]])["VpcSet"][0]
    for view in (created, described):
        assert view["EnableRouteVpcPublish"] is False
        assert view["Ipv6CidrBlockSet"] == []
    typed_vpc = vpc.DescribeVpcs(vpc_models.DescribeVpcsRequest()).VpcSet[0]
    assert typed_vpc.EnableRouteVpcPublish is False and typed_vpc.Ipv6CidrBlockSet == []
    call(vpc, "DeleteVpc", VpcId=created["VpcId"])

    emu.faults.fail_launch()
    instance_id = call(
        cvm, "RunInstances", ImageId="img-eb30mz89", Placement={"Zone": "ap-guangzhou-3"}
    )["InstanceIdSet"][0]
    raw = _until(lambda: _describe(emu, instance_id))
    assert raw["DisasterRecoverGroupIds"] == []
    assert raw["SystemDisk"]["Encrypt"] is False
    assert raw["SystemDisk"]["KmsKeyId"] == ""
    request = cvm_models.DescribeInstancesRequest()
    request.InstanceIds = [instance_id]
    typed = cvm.DescribeInstances(request).InstanceSet[0]
    assert typed.DisasterRecoverGroupIds == []
    assert typed.SystemDisk.Encrypt is False and typed.SystemDisk.KmsKeyId == ""
    _until(lambda: (i := _describe(emu, instance_id)) and i["InstanceState"] != "PENDING")
    call(cvm, "TerminateInstances", InstanceIds=[instance_id])
    _until(lambda: _describe(emu, instance_id) is None)
