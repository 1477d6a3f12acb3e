"""The wheel installed in a fresh venv bakes on the emulator with the ansible provisioner, run by
absolute path with the venv off PATH: the bake_cvm plugin and ansible-playbook come from the venv.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from bakeansible.builders.tencentcloud.resources import delete_image
from bakeansible.testing.tcloud import TencentEmulator
from tests.installed import installed_env, site_packages
from tests.integration.tcloud.test_builder_ansible import TEMPLATE, client


def test_installed_wheel_bakes_on_the_emulator(
    installed_bake: Path, tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    venv = installed_bake.parent.parent
    (builder,) = TEMPLATE["builders"]
    builder = {
        k: v for k, v in builder.items() if k not in ("image_copy_regions", "image_share_accounts")
    }
    template = {**TEMPLATE, "builders": [{**builder, "image_name": "nginx-wheel"}]}
    (project / "template.json").write_text(json.dumps(template))
    env = installed_env(
        BAKE_STATE_DIR=str(state_dir),
        TENCENTCLOUD_SECRET_ID=emu.secret_id,
        TENCENTCLOUD_SECRET_KEY=emu.secret_key,
        TC_ENDPOINT=emu.endpoint,
    )
    result = subprocess.run(
        [str(installed_bake), "build", "template.json"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    out = result.stdout + result.stderr
    match = re.search(r"Tencentcloud images\(ap-guangzhou: (img-\w+)\) were created\.", out)
    try:
        assert result.returncode == 0, out
        # The host is named by the bake_cvm dynamic inventory (the instance id).
        assert re.search(r"TASK \[(nginx : )?Install nginx\] changed: default", out), out
        assert emu.secret_key not in out

        (command,) = [json.loads(p.read_text()) for p in project.rglob("artifacts/*/command")]
        child_env = command["env"]
        plugins = site_packages(venv) / "bakeansible/ansible_plugins/inventory"
        assert child_env["ANSIBLE_INVENTORY_PLUGINS"] == str(plugins)
        assert child_env["PATH"].split(":")[0] == str(venv / "bin")
    finally:
        if match:
            delete_image(client(emu, "ap-guangzhou"), match.group(1))
