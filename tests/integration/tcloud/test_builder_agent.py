"""ssh_agent_auth on the emulator: an existing key pair (ssh_keypair_name) whose private key only
a real ssh-agent holds; bake's SSH and Ansible both log in through the agent, and no temporary
key pair is created."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.builders.tencentcloud.credentials import AccessSettings, Credentials
from bakeansible.builders.tencentcloud.resources import delete_image
from bakeansible.errors import BakeError
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from tests.conftest import bake_env

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Prove Ansible logged in
      ansible.builtin.copy: {dest: /etc/bake-agent, content: "agent\\n"}
"""


def test_agent_auth_with_existing_key_pair(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path, tmp_path: Path
) -> None:
    emu = tcloud_emulator
    api = TencentClient(
        AccessSettings("ap-guangzhou", emu.endpoint, emu.endpoint),
        Credentials(emu.secret_id, emu.secret_key),
    )
    key = api.cvm("CreateKeyPair", {"KeyName": "agentkey", "ProjectId": 0}).KeyPair
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    images: list[str] = []
    try:
        while not sock.exists():
            time.sleep(0.05)
        key_file = tmp_path / "key"
        key_file.write_text(key.PrivateKey.rstrip("\n") + "\n")
        key_file.chmod(0o600)
        subprocess.run(["ssh-add", "-q", str(key_file)], check=True,
                       env={**os.environ, "SSH_AUTH_SOCK": str(sock)})  # fmt: skip
        key_file.unlink()  # only the agent holds it now
        (project / "playbooks/agent.yml").write_text(PLAYBOOK)
        template = {
            "builders": [{
                "type": "tencentcloud-cvm", "endpoint": emu.endpoint,
                "secret_id": emu.secret_id, "secret_key": emu.secret_key,
                "region": "ap-guangzhou", "zone": "ap-guangzhou-3",
                "instance_type": "S5.MEDIUM2", "associate_public_ip_address": True,
                "source_image_id": DEBIAN_12_IMAGE_ID, "ssh_username": "root",
                "image_name": "agent-v1", "ssh_keypair_name": key.KeyId,
                "ssh_agent_auth": True, "ssh_timeout": "60s",
            }],
            "provisioners": [
                {"type": "shell", "inline": ["test -f /root/.ssh/authorized_keys"]},
                {"type": "ansible", "playbook_file": "playbooks/agent.yml"},
            ],
        }  # fmt: skip
        (project / "template.json").write_text(json.dumps(template))
        result = subprocess.run(
            ["bake", "build", "template.json"], cwd=project, capture_output=True, text=True,
            timeout=900, env=bake_env(SSH_AUTH_SOCK=str(sock)),
        )  # fmt: skip
        out = result.stdout + result.stderr
        match = re.search(r"ap-guangzhou: (img-\w+)", out)
        images = [match.group(1)] if match else []
        assert result.returncode == 0, out
        assert "Trying to create a new keypair" not in out
        assert "TASK [Prove Ansible logged in] changed" in out
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(10)
        for image_id in images:
            delete_image(api, image_id)
        deadline = time.monotonic() + 30
        while True:
            try:
                api.cvm("DeleteKeyPairs", {"KeyIds": [key.KeyId]})
                break
            except BakeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
