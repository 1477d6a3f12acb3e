"""The bake_cvm plugin's pure helpers and the build inventory document."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from bakeansible.builders.tencentcloud.builder import TencentCvmBuilder
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.builders.tencentcloud.inventory import PLUGIN_DIR
from bakeansible.config.model import BuildSpec
from bakeansible.pipeline.context import BuildContext, SshTarget


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


SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA"
TOKEN = "nJ6pMCYzRgUbNDhUZvw9Ptc4Wh2Wq8dG3yYrKxPsTkVfLe7aAbCdEfGhIjKlMnOp"


def test_the_build_inventory_holds_no_credential_and_the_plugin_reads_them_from_the_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Credentials as a build has them: from the builder's config, with an STS token.
    config = TencentCvmConfig(
        region="ap-guangzhou", zone="ap-guangzhou-3", instance_type="S2.SMALL1",
        source_image_id="img-9qabwvbn", image_name="web", endpoint="http://127.0.0.1:9",
        skip_region_validation=True,
        secret_id=SECRET_ID, secret_key=SECRET_KEY, security_token=TOKEN,
    )  # fmt: skip
    builder = TencentCvmBuilder(BuildSpec("web", "tencentcloud-cvm", config), env={})
    base = BuildContext(build_id="b" * 32, build_name="web", builder_type="tencentcloud-cvm")
    ctx = builder.new_context(base)
    ctx.ssh = SshTarget("1.2.3.4", 22, "root", tmp_path / "id_rsa")
    assert ctx.inventory is not None
    written = ctx.inventory.write_inventory(ctx, tmp_path / "inv", groups=("default",), user=None)
    assert written is not None
    text = written.path.read_text()
    for secret in (SECRET_ID, SECRET_KEY, TOKEN):
        assert secret not in text
    doc = yaml.safe_load(text)
    assert doc["plugin"] == "bake_cvm" and doc["filters"] == {"tag:bake:build-id": "b" * 32}
    assert doc["groups"] == {"default": "true"}
    assert set(written.secrets) == {SECRET_KEY, TOKEN}, "what the build must mask"

    # The plugin, loaded and configured by Ansible as ansible-runner's run does, still
    # authenticates: its options resolve the credentials from the environment bake passes.
    for key, value in written.env.items():
        monkeypatch.setenv(key, value)
    inventory_loader.add_directory(written.env["ANSIBLE_INVENTORY_PLUGINS"])
    module = inventory_loader.get("bake_cvm")
    assert module is not None
    module.loader = DataLoader()
    module._read_config_data(str(written.path))
    assert module._credentials() == (SECRET_ID, SECRET_KEY, TOKEN)
