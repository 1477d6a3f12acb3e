"""``bake build -check`` on Tencent (the emulator): a playbook runs in check mode on a fresh CVM
found by the bake_cvm dynamic inventory, which names it by its host_alias (as the local builder
and Packer do) and reads the project's group_vars/ and host_vars/, and no image is created: no
CreateImage call, no artifact, no manifest entry; every temporary resource is removed (the
emulator fixture checks)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bakeansible.pipeline.journal import Journal
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from tests.conftest import bake_env

ASSERT_VARS = """\
---
- name: Inventory variables of the dynamic inventory
  hosts: default
  gather_facts: false
  tasks:
    - name: The project's group_vars and host_vars apply to the CVM
      ansible.builtin.assert:
        that:
          - from_all == 'all'
          - from_group == 'web'
          - from_host == 'default'
          - inventory_hostname == 'default'
          - instance_id is match('ins-')
"""


def test_check_mode_on_tencent_makes_no_image(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    (project / "group_vars").mkdir()
    (project / "group_vars/all.yml").write_text("from_all: all\n")
    (project / "group_vars/web.yml").write_text("from_group: web\n")
    (project / "host_vars").mkdir()
    (project / "host_vars/default.yml").write_text("from_host: default\n")
    (project / "playbooks/vars.yml").write_text(ASSERT_VARS)
    template = {
        "builders": [{
            "type": "tencentcloud-cvm", "endpoint": emu.endpoint, "region": "ap-guangzhou",
            "zone": "ap-guangzhou-3", "instance_type": "S5.MEDIUM2",
            "associate_public_ip_address": True, "source_image_id": DEBIAN_12_IMAGE_ID,
            "ssh_username": "root", "image_name": "nginx-check",
        }],
        "provisioners": [
            {"type": "ansible", "playbook_file": "playbooks/vars.yml", "idempotence": True,
             "groups": ["web"]},
            {"type": "shell", "inline": ["touch /etc/changed-by-shell"]},
        ],
    }  # fmt: skip
    (project / "template.json").write_text(json.dumps(template))
    emu.reset_call_counts()
    result = subprocess.run(
        ["bake", "build", "-check", "template.json"], cwd=project, capture_output=True,
        text=True, timeout=900,
        env=bake_env(TENCENTCLOUD_SECRET_ID=emu.secret_id,
                     TENCENTCLOUD_SECRET_KEY=emu.secret_key),
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    calls = dict(emu.call_counts)
    assert calls.get("RunInstances") == 1, calls
    assert not calls.get("CreateImage"), calls
    assert "Running the playbook in check mode (--check --diff): nothing changes." in out
    assert "Skipping the idempotence check: check mode changes nothing." in out
    assert "TASK [The project's group_vars and host_vars apply to the CVM] ok: default" in out
    assert "Skipping the shell provisioner: it has no check mode." in out
    assert "Skipping: Trying to create a new image: nginx-check (check mode makes no image)" in out
    assert "no image, artifact or manifest entry was made" in out
    assert not (project / "output/manifest.json").exists()
    assert not list((project / "output/tencentcloud-cvm-ansible/inventory").iterdir())
    assert Journal(state_dir / "journal.sqlite").open_resources() == []
