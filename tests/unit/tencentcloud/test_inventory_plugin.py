"""The bake_cvm plugin's pure helpers and the build inventory document."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from bakeansible.builders.tencentcloud.inventory import PLUGIN_DIR, render_inventory


def plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bake_cvm", PLUGIN_DIR / "bake_cvm.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


INSTANCE = {
    "InstanceId": "ins-12345678",
    "InstanceName": "web-1",
    "CPU": 2,
    "Placement": {"Zone": "ap-guangzhou-3", "ProjectId": 0},
    "PublicIpAddresses": ["1.2.3.4"],
    "PrivateIpAddresses": ["10.0.8.3"],
    "Tags": [{"Key": "Name", "Value": "frontend"}, {"Key": "bake:build-id", "Value": "b1"}],
    "LatestOperationState": "SUCCESS",
}


def test_host_vars_are_snake_case_with_tags_and_addresses() -> None:
    hv = plugin().host_vars(INSTANCE, "ap-guangzhou")
    assert hv["instance_id"] == "ins-12345678" and hv["cpu"] == 2
    assert hv["placement"]["zone"] == "ap-guangzhou-3"
    assert hv["latest_operation_state"] == "SUCCESS"
    assert hv["tags"] == {"Name": "frontend", "bake:build-id": "b1"}
    assert (hv["public_ip_address"], hv["private_ip_address"]) == ("1.2.3.4", "10.0.8.3")
    assert hv["region"] == "ap-guangzhou"


def test_hostname_preferences() -> None:
    mod = plugin()
    hv = mod.host_vars({**INSTANCE, "PublicIpAddresses": None}, "r")
    assert mod.pick_hostname(hv, ["public-ip-address", "private-ip-address"]) == "10.0.8.3"
    assert mod.pick_hostname(hv, ["tag:Name", "instance-id"]) == "frontend"
    assert mod.pick_hostname(hv, ["tag:missing", "instance-id"]) == "ins-12345678"
    assert mod.pick_hostname(hv, ["instance-name"]) == "web-1"


def test_filters_become_api_filters() -> None:
    assert plugin().api_filters({"tag:env": "test", "zone": ["a", "b"]}) == [
        {"Name": "tag:env", "Values": ["test"]},
        {"Name": "zone", "Values": ["a", "b"]},
    ]


def test_build_inventory_document_has_no_secret_and_filters_on_the_build() -> None:
    doc = render_inventory(
        region="ap-guangzhou", build_id="b1", endpoint="http://127.0.0.1:9",
        groups=("default",), user="root", port=22, private_key_file=Path("/k"),
    )  # fmt: skip
    assert doc["plugin"] == "bake_cvm"
    assert doc["filters"] == {"tag:bake:build-id": "b1"}
    assert doc["groups"] == {"default": "true"}
    assert "secret" not in str(doc).lower()
