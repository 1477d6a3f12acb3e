"""Fault injection through the Python API and the admin endpoint."""

from __future__ import annotations

import time

import requests

from bakeansible.testing.tcloud import TencentEmulator
from tests.unit.tcloud.conftest import api_error, call


def test_fail_once_then_succeed(emu: TencentEmulator) -> None:
    emu.faults.fail("DescribeZones", code="InternalError", times=1)
    cvm = emu.cvm_client()
    assert api_error(cvm, "DescribeZones").code == "InternalError"
    assert call(cvm, "DescribeZones")["TotalCount"]


def test_fail_always_only_matching_action(emu: TencentEmulator) -> None:
    emu.faults.fail("DescribeImages", code="ResourceUnavailable", times=None)
    cvm = emu.cvm_client()
    for _ in range(3):
        assert api_error(cvm, "DescribeImages").code == "ResourceUnavailable"
    assert call(cvm, "DescribeZones")["TotalCount"]
    emu.faults.clear()
    assert call(cvm, "DescribeImages")["TotalCount"]


def test_throttle_n_calls(emu: TencentEmulator) -> None:
    emu.faults.throttle(2)
    cvm = emu.cvm_client()
    assert api_error(cvm, "DescribeZones").code == "RequestLimitExceeded"
    assert api_error(cvm, "DescribeRegions").code == "RequestLimitExceeded"
    assert call(cvm, "DescribeZones")["TotalCount"]
    assert emu.call_counts == {"DescribeZones": 2, "DescribeRegions": 1}


def test_dropped_connection_is_a_network_error(emu: TencentEmulator) -> None:
    emu.faults.drop("DescribeZones")
    cvm = emu.cvm_client()
    assert api_error_no_id(cvm) == "ClientNetworkError"
    assert call(cvm, "DescribeZones")["TotalCount"]


def test_lost_answer_runs_the_action_but_a_drop_does_not(emu: TencentEmulator) -> None:
    vpc = emu.vpc_client()
    for fault, created in ((emu.faults.drop, 0), (emu.faults.lose_answer, 1)):
        fault("CreateVpc")
        code = api_error_no_id(vpc, "CreateVpc", VpcName="lost", CidrBlock="10.0.0.0/16")
        assert code == "ClientNetworkError"
        assert call(vpc, "DescribeVpcs")["TotalCount"] == created
    emu.faults.add_from_dict({"kind": "lose", "action": "DeleteVpc"})
    (made,) = call(vpc, "DescribeVpcs")["VpcSet"]
    assert api_error_no_id(vpc, "DeleteVpc", VpcId=made["VpcId"]) == "ClientNetworkError"
    assert call(vpc, "DescribeVpcs")["TotalCount"] == 0


def api_error_no_id(client: object, action: str = "DescribeZones", **params: object) -> str:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )

    try:
        client.call_json(action, params)  # type: ignore[attr-defined]
    except TencentCloudSDKException as exc:
        return str(exc.code)
    raise AssertionError("no error")


def test_delay(emu: TencentEmulator) -> None:
    emu.faults.delay("DescribeZones", 0.5, times=1)
    started = time.monotonic()
    call(emu.cvm_client(), "DescribeZones")
    assert time.monotonic() - started >= 0.5


def test_admin_endpoint(emu: TencentEmulator) -> None:
    url = emu.endpoint + "/_admin/faults"
    state = requests.post(
        url,
        json={"kind": "fail", "action": "CreateVpc", "code": "LimitExceeded", "times": 1},
        timeout=5,
    ).json()
    assert state["rules"][0]["code"] == "LimitExceeded"
    vpc = emu.vpc_client()
    assert api_error(vpc, "CreateVpc", VpcName="v", CidrBlock="10.0.0.0/16").code == "LimitExceeded"
    requests.post(url, json=[{"kind": "launch"}, {"kind": "image", "times": 2}], timeout=5)
    assert requests.get(url, timeout=5).json()["image_failures"] == 2
    assert requests.delete(url, timeout=5).json() == {
        "rules": [],
        "launch_failures": 0,
        "image_failures": 0,
    }
    vpc_id = call(vpc, "CreateVpc", VpcName="v", CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    resources = requests.get(emu.endpoint + "/_admin/resources", timeout=5).json()
    assert resources["ap-guangzhou"]["vpcs"] == [vpc_id]
    assert requests.post(url, json={"kind": "bogus"}, timeout=5).status_code == 400
    call(vpc, "DeleteVpc", VpcId=vpc_id)
    assert requests.get(emu.endpoint + "/_admin/resources", timeout=5).json() == {}
