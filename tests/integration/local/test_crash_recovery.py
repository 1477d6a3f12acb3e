"""kill -9 of bake at each step of a local build, then `bake cleanup`: nothing is left."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env

pytestmark = pytest.mark.usefixtures("base_rootfs")

STEP_HEADERS = [
    "Creating temporary key pair...",
    "Creating copy-on-write root filesystem...",
    "Starting container...",
    "Waiting for SSH to become available...",
    "Waiting for the container to finish booting...",
    "Provisioning with Ansible",
    "Powering off the container...",
    "Creating image",
]


@pytest.mark.parametrize("header", STEP_HEADERS)
def test_kill9_then_cleanup_leaves_nothing(
    project: Path, state_dir: Path, no_leaks: None, header: str
) -> None:
    playbook = project / "playbooks/quick.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Write a file\n      ansible.builtin.copy:\n"
        "        dest: /etc/baked\n        content: yes\n"
    )
    proc = subprocess.Popen(
        ["bake", "--playbook", "playbooks/quick.yml", "-color=false"], cwd=project,
        env=bake_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if header in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    time.sleep(0.5)

    journal = Journal(state_dir / "journal.sqlite")
    (record,) = journal.builds()
    assert record.state == "running" and not record.alive

    listed = subprocess.run(
        ["bake", "cleanup", "--dry-run"], cwd=project, env=bake_env(),
        capture_output=True, text=True, timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    result = subprocess.run(
        ["bake", "cleanup"], cwd=project, env=bake_env(), capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal.open_resources() == []
    assert journal.builds()[0].state == "crashed"
    # The image of a build that never finished is not kept.
    assert not list((project / "output").glob("*.tar.zst*"))
