"""The nginx role through the ansible provisioner on the emulator, copied and shared."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.builders.tencentcloud.credentials import AccessSettings, Credentials
from bakeansible.builders.tencentcloud.resources import delete_image
from bakeansible.pipeline.journal import Journal
from bakeansible.secrets import escaped_forms
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from tests.conftest import bake_env

OTHER_ACCOUNT = "100000000002"

TEMPLATE = {
    "variables": {
        "tc_secret_id": "{{env `TENCENTCLOUD_SECRET_ID`}}",
        "tc_secret_key": "{{env `TENCENTCLOUD_SECRET_KEY`}}",
        "endpoint": "{{env `TC_ENDPOINT`}}",
    },
    "sensitive-variables": ["tc_secret_key"],
    "builders": [
        {
            "type": "tencentcloud-cvm",
            "secret_id": "{{user `tc_secret_id`}}",
            "secret_key": "{{user `tc_secret_key`}}",
            "endpoint": "{{user `endpoint`}}",
            "region": "ap-guangzhou",
            "zone": "ap-guangzhou-3",
            "instance_type": "S5.MEDIUM2",
            "associate_public_ip_address": True,
            "source_image_id": DEBIAN_12_IMAGE_ID,
            "ssh_username": "root",
            "image_name": "nginx-ansible-v1",
            "image_description": "nginx baked with the bake nginx role",
            "image_copy_regions": ["ap-shanghai", "ap-guangzhou"],
            "image_share_accounts": [OTHER_ACCOUNT],
            "image_tags": {"app": "nginx"},
            "run_tags": {"purpose": "bake-test"},
        }
    ],
    "provisioners": [
        {
            "type": "ansible",
            "playbook_file": "playbooks/site.yml",
            "extra_vars": {"nginx_server_name": "bake.test"},
        }
    ],
}


def client(emu: TencentEmulator, region: str) -> TencentClient:
    access = AccessSettings(region, emu.endpoint, emu.endpoint)
    return TencentClient(access, Credentials(emu.secret_id, emu.secret_key))


def test_ansible_role_copy_and_share(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    (project / "template.json").write_text(json.dumps(TEMPLATE))
    env = bake_env(
        TENCENTCLOUD_SECRET_ID=emu.secret_id,
        TENCENTCLOUD_SECRET_KEY=emu.secret_key,
        TC_ENDPOINT=emu.endpoint,
        BAKE_LOG_PATH=str(project / "debug.log"),
    )
    result = subprocess.run(
        ["bake", "build", "template.json"], cwd=project, capture_output=True, text=True,
        timeout=900, env=env,
    )  # fmt: skip
    out = result.stdout
    images: dict[str, str] = {}
    match = re.search(r"Tencentcloud images\((.*?)\) were created\.", out)
    if match:
        images = dict(part.split(": ") for part in match.group(1).split(", "))
    try:
        assert result.returncode == 0, out + result.stderr
        assert sorted(images) == ["ap-guangzhou", "ap-shanghai"]
        # The host is named by the bake_cvm dynamic inventory: the instance id.
        assert re.search(r"TASK \[(nginx : )?Install nginx\] changed: default", out), out
        assert "Trying to copy image to: ap-shanghai..." in out
        assert emu.secret_key not in out + result.stderr

        source = client(emu, "ap-guangzhou")
        shares = source.cvm(
            "DescribeImageSharePermission", {"ImageId": images["ap-guangzhou"]}
        ).SharePermissionSet
        assert [s.AccountId for s in shares] == [OTHER_ACCOUNT]
        image = source.cvm("DescribeImages", {"ImageIds": [images["ap-guangzhou"]]}).ImageSet[0]
        assert {t.Key: t.Value for t in image.Tags}["app"] == "nginx"
        copy = (
            client(emu, "ap-shanghai")
            .cvm("DescribeImages", {"ImageIds": [images["ap-shanghai"]]})
            .ImageSet[0]
        )
        assert (copy.ImageName, copy.ImageState) == ("nginx-ansible-v1", "NORMAL")
        assert Journal(state_dir / "journal.sqlite").open_resources() == []

        # No form of the secret key in anything bake printed or wrote (output, journal, logs).
        forms = escaped_forms(emu.secret_key)
        for path in [*project.rglob("*"), *state_dir.rglob("*")]:
            if path.is_file():
                data = path.read_bytes().decode("utf-8", "replace")
                leaked = [f for f in forms if f in data]
                assert not leaked, f"{path} holds the secret key"
        assert not [f for f in forms if f in out + result.stderr]
        debug = (project / "debug.log").read_text()
        assert "DescribeZones" in debug and "RequestId" in debug  # each call logged
        assert emu.secret_id not in debug and "PRIVATE KEY" not in debug
        check_cache_hit(emu, project, env, images)
    finally:
        for region, image_id in images.items():
            delete_image(client(emu, region), image_id)


def check_cache_hit(
    emu: TencentEmulator, project: Path, env: dict[str, str], images: dict[str, str]
) -> None:
    """The same inputs again: up to date, with only Describe calls; then again with no local
    record at all (another machine): found in the cloud by its fingerprint tag."""
    manifest = project / "output/manifest.json"
    (first,) = json.loads(manifest.read_text())["builds"]
    fingerprint = first["input_fingerprint"]
    image = client(emu, "ap-guangzhou").cvm(
        "DescribeImages", {"ImageIds": [images["ap-guangzhou"]]}
    ).ImageSet[0]
    assert {t.Key: t.Value for t in image.Tags}["bake:input-fingerprint"] == fingerprint

    for where in ("manifest", "cloud tag"):
        if where == "cloud tag":
            manifest.rename(project / "elsewhere.json")
        emu.reset_call_counts()
        again = subprocess.run(
            ["bake", "build", "template.json"], cwd=project, capture_output=True, text=True,
            timeout=120, env=env,
        )  # fmt: skip
        assert again.returncode == 0, where + again.stdout + again.stderr
        assert "==> tencentcloud-cvm: up to date: Tencentcloud images(" in again.stdout, where
        for region, image_id in images.items():
            assert f"{region}: {image_id}" in again.stdout, where
        calls = emu.call_counts
        assert calls and all(a.startswith("Describe") for a in calls), (where, calls)
        (entry,) = json.loads(manifest.read_text())["builds"][-1:]
        assert entry["input_fingerprint"] == fingerprint
        assert entry["images"] == images
