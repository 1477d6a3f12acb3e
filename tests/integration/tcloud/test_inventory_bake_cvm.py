"""``ansible-inventory`` with the bake_cvm plugin against the emulator's real instances."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.credentials import AccessSettings, Credentials
from bakeansible.builders.tencentcloud.inventory import PLUGIN_DIR, write_build_inventory
from bakeansible.builders.tencentcloud.resources import delete_instance
from bakeansible.builders.tencentcloud.waiters import wait_instance_running
from bakeansible.pipeline.context import SshTarget
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator

REPO = Path(__file__).resolve().parents[3]


def client(emu: TencentEmulator) -> TencentClient:
    access = AccessSettings("ap-guangzhou", emu.endpoint, emu.endpoint)
    return TencentClient(access, Credentials(emu.secret_id, emu.secret_key))


def run_instance(api: TencentClient, name: str, tags: dict[str, str]) -> Any:
    resp = api.cvm(
        "RunInstances",
        {
            "Placement": {"Zone": "ap-guangzhou-3"},
            "InstanceType": "S5.SMALL1",
            "ImageId": DEBIAN_12_IMAGE_ID,
            "InstanceName": name,
            "LoginSettings": {"Password": "Bake-test-pw-1"},
            "InternetAccessible": {"PublicIpAssigned": True, "InternetMaxBandwidthOut": 1},
            "TagSpecification": [
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                }
            ],
        },
    )
    return wait_instance_running(api, resp.InstanceIdSet[0], 120)


def plain(value: Any) -> Any:
    """ansible-inventory --list marks plugin-made strings as unsafe; unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def ansible_inventory(
    path: Path, emu: TencentEmulator, *args: str, plugin_dir: Path = PLUGIN_DIR
) -> str:
    env = {
        **os.environ,
        "ANSIBLE_INVENTORY_PLUGINS": str(plugin_dir),
        "ANSIBLE_INVENTORY_ENABLED": "bake_cvm",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "TENCENTCLOUD_SECRET_ID": emu.secret_id,
        "TENCENTCLOUD_SECRET_KEY": emu.secret_key,
    }
    result = subprocess.run(
        ["ansible-inventory", "-i", str(path), *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=path.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_graph_filters_groups_compose_and_cache(
    tcloud_emulator: TencentEmulator, tmp_path: Path
) -> None:
    emu = tcloud_emulator
    api = client(emu)
    web = run_instance(api, "web-1", {"role": "web", "env": "test"})
    db = run_instance(api, "db-1", {"role": "db", "env": "test"})
    other = run_instance(api, "other-1", {"env": "prod"})
    try:
        demo = tmp_path / "demo.bake_cvm.yml"
        demo.write_text(
            yaml.safe_dump(
                {
                    "plugin": "bake_cvm",
                    "regions": ["ap-guangzhou"],
                    "endpoint": emu.endpoint,
                    "filters": {"tag:env": "test"},
                    "hostnames": ["tag:Name", "instance-name", "instance-id"],
                    "compose": {"ansible_host": "public_ip_address"},
                    "keyed_groups": [
                        {"key": "tags.role", "prefix": "role"},
                        {"key": "placement.zone", "prefix": "zone"},
                    ],
                    "groups": {"webservers": "instance_name.startswith('web')"},
                    "cache": True,
                    "cache_plugin": "ansible.builtin.jsonfile",
                    "cache_connection": str(tmp_path / "cache"),
                }
            )
        )
        graph = ansible_inventory(demo, emu, "--graph")
        assert "@role_web:" in graph and "@role_db:" in graph
        assert "@zone_ap_guangzhou_3:" in graph
        assert "@webservers:" in graph and "web-1" in graph and "db-1" in graph
        assert "other-1" not in graph

        listing = plain(json.loads(ansible_inventory(demo, emu, "--list")))
        hostvars = listing["_meta"]["hostvars"]["web-1"]
        assert hostvars["ansible_host"] == web.PublicIpAddresses[0]
        assert hostvars["instance_id"] == web.InstanceId
        assert hostvars["tags"]["role"] == "web"
        assert hostvars["region"] == "ap-guangzhou"

        # Cacheable: with the cache, a terminated instance is still listed until a flush.
        delete_instance(api, db.InstanceId)
        assert "db-1" in ansible_inventory(demo, emu, "--graph")
        assert "db-1" not in ansible_inventory(demo, emu, "--graph", "--flush-cache")

        # The repository's inventory_plugins/, as the README points Ansible at it.
        graph = ansible_inventory(
            demo, emu, "--graph", "--flush-cache", plugin_dir=REPO / "inventory_plugins"
        )
        assert "@role_web:" in graph and "web-1" in graph and "db-1" not in graph
    finally:
        for inst in (web, db, other):
            delete_instance(api, inst.InstanceId)


def test_build_inventory_selects_the_build_instance(
    tcloud_emulator: TencentEmulator, tmp_path: Path
) -> None:
    emu = tcloud_emulator
    api = client(emu)
    build_id = "f" * 32
    mine = run_instance(api, "bake_ffffffff", {"bake:build-id": build_id})
    other = run_instance(api, "bake_eeeeeeee", {"bake:build-id": "e" * 32})
    try:
        ctx = TencentContext(
            build_id=build_id, build_name="t", builder_type="tencentcloud-cvm",
            client=api, access=api.access, instance=mine, project_dir=tmp_path,
        )  # fmt: skip
        key = tmp_path / "id_rsa"
        ctx.ssh = SshTarget(mine.PublicIpAddresses[0], 22, "root", key)
        inventory = write_build_inventory(ctx, tmp_path / "inv", groups=("default", "web"))
        assert inventory is not None
        text = inventory.path.read_text()
        assert emu.secret_key not in text and emu.secret_id not in text
        assert inventory.env["TENCENTCLOUD_SECRET_KEY"] == emu.secret_key
        listing = plain(json.loads(ansible_inventory(inventory.path, emu, "--list")))
        assert listing["default"]["hosts"] == [mine.InstanceId]
        assert listing["web"]["hosts"] == [mine.InstanceId]
        hv = listing["_meta"]["hostvars"][mine.InstanceId]
        assert hv["ansible_host"] == mine.PublicIpAddresses[0]
        assert hv["ansible_user"] == "root" and hv["ansible_port"] == 22
        assert hv["ansible_ssh_private_key_file"] == str(key)
        assert other.InstanceId not in json.dumps(listing)
    finally:
        for inst in (mine, other):
            delete_instance(api, inst.InstanceId)
