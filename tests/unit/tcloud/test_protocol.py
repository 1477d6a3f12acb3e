"""Request checking and the error envelope: what real clients see when they get it wrong."""

from __future__ import annotations

import requests

from bakeansible.testing.tcloud import TencentEmulator
from tests.unit.tcloud.conftest import api_error, call


def test_unknown_action(emu: TencentEmulator) -> None:
    exc = api_error(emu.cvm_client(), "DescribeUnicorns")
    assert exc.code == "InvalidAction"
    assert "DescribeUnicorns" in exc.message


def test_unknown_parameter(emu: TencentEmulator) -> None:
    assert api_error(emu.cvm_client(), "DescribeZones", Colour="blue").code == "UnknownParameter"
    nested = api_error(
        emu.cvm_client(), "DescribeImages", Filters=[{"Name": "image-id", "Values": [], "X": 1}]
    )
    assert nested.code == "UnknownParameter"
    assert "Filters.0.X" in nested.message


def test_sdk_fields_the_emulator_ignores_are_accepted(emu: TencentEmulator) -> None:
    # InstanceType is a real DescribeImages parameter: never UnknownParameter.
    assert call(emu.cvm_client(), "DescribeImages", InstanceType="S5.MEDIUM2")["TotalCount"]


def test_wrong_types(emu: TencentEmulator) -> None:
    cvm = emu.cvm_client()
    assert api_error(cvm, "DescribeImages", Limit="5").code == "InvalidParameterValue"
    assert api_error(cvm, "DescribeImages", ImageIds="img-eb30mz89").code == "InvalidParameterValue"
    exc = api_error(cvm, "CreateKeyPair", KeyName="k", ProjectId=True)
    assert exc.code == "InvalidParameterValue"


def test_missing_parameters(emu: TencentEmulator) -> None:
    exc = api_error(emu.cvm_client(), "CreateKeyPair", KeyName="k")
    assert exc.code == "MissingParameter"
    assert "ProjectId" in exc.message
    assert api_error(emu.cvm_client(region=""), "DescribeZones").code == "MissingParameter"


def test_unsupported_region(emu: TencentEmulator) -> None:
    assert api_error(emu.cvm_client("mars-north-1"), "DescribeZones").code == "UnsupportedRegion"


def test_describe_regions_needs_no_region(emu: TencentEmulator) -> None:
    regions = call(emu.cvm_client(region=""), "DescribeRegions")["RegionSet"]
    assert {
        "Region": "ap-guangzhou",
        "RegionName": "South China(Guangzhou)",
        "RegionState": "AVAILABLE",
    } in regions


def test_instance_type_configs(emu: TencentEmulator) -> None:
    resp = call(
        emu.cvm_client(),
        "DescribeInstanceTypeConfigs",
        Filters=[
            {"Name": "zone", "Values": ["ap-guangzhou-3"]},
            {"Name": "instance-family", "Values": ["S5"]},
        ],
    )
    types = {c["InstanceType"] for c in resp["InstanceTypeConfigSet"]}
    assert "S5.MEDIUM2" in types
    assert all(t.startswith("S5.") for t in types)


def test_seed_instance_type_is_offered_in_guangzhou_3(emu: TencentEmulator) -> None:
    resp = call(
        emu.cvm_client(),
        "DescribeInstanceTypeConfigs",
        Filters=[
            {"Name": "zone", "Values": ["ap-guangzhou-3"]},
            {"Name": "instance-type", "Values": ["S2.SMALL1"]},
        ],
    )
    assert [(c["Zone"], c["InstanceType"]) for c in resp["InstanceTypeConfigSet"]] == [
        ("ap-guangzhou-3", "S2.SMALL1")
    ]


def test_every_answer_is_200_json_with_request_id(emu: TencentEmulator) -> None:
    resp = requests.post(
        emu.endpoint + "/", data=b"{}", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    body = resp.json()["Response"]
    assert body["Error"]["Code"].startswith("AuthFailure")
    assert body["RequestId"]


def test_calls_are_counted(emu: TencentEmulator) -> None:
    cvm = emu.cvm_client()
    call(cvm, "DescribeZones")
    call(cvm, "DescribeZones")
    api_error(cvm, "DescribeZones", Bad=1)
    assert emu.call_counts == {"DescribeZones": 3}
    admin = requests.get(emu.endpoint + "/_admin/calls", timeout=5).json()
    assert admin == {"total": 3, "by_action": {"DescribeZones": 3}}
