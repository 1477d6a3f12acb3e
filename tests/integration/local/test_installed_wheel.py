"""The wheel installed in a fresh venv bakes site.yml, run by absolute path with the venv off PATH.

This is how pipx users and unactivated venvs call bake: neither ``ansible-playbook`` nor the
checkout is reachable, so only what the wheel installed can do the work.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.installed import SYSTEM_PATH, installed_env, site_packages

pytestmark = pytest.mark.usefixtures("base_rootfs")


def runner_commands(project: Path) -> list[dict[str, object]]:
    """What ansible-runner ran (``artifacts/<ident>/command``: argv, cwd, env)."""
    return [json.loads(p.read_text()) for p in sorted(project.rglob("artifacts/*/command"))]


def test_installed_wheel_bakes_site_yml(
    installed_bake: Path, project: Path, state_dir: Path, no_leaks: None
) -> None:
    venv = installed_bake.parent.parent
    env = installed_env(BAKE_STATE_DIR=str(state_dir))
    # The test means something only if nothing else could supply Ansible or bake.
    for name in ("ansible-playbook", "bake"):
        assert shutil.which(name, path=SYSTEM_PATH) is None, f"{name} is on {SYSTEM_PATH}"

    probe = subprocess.run(
        [str(venv / "bin/python"), "-c", "import bakeansible; print(bakeansible.__file__)"],
        cwd=project, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(probe.stdout.strip()).is_relative_to(site_packages(venv)), probe.stdout

    result = subprocess.run(
        [str(installed_bake), "--playbook", "playbooks/site.yml", "--image-name", "web"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert re.search(r"TASK \[(nginx : )?Install nginx\] changed: default", out), out
    assert (project / "output/web.tar.zst").is_file()

    # ansible-runner ran the venv's ansible-playbook: its directory leads the child's PATH.
    (command,) = runner_commands(project)
    argv, child_env = command["command"], command["env"]
    assert isinstance(argv, list) and isinstance(child_env, dict)
    assert argv[0] == "ansible-playbook"
    assert child_env["PATH"].split(":")[0] == str(venv / "bin")
