"""The Ansible commands bake runs: the ones installed alongside bake first, then PATH."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from bakeansible.config.playbook import playbook_template
from bakeansible.errors import PreflightError
from bakeansible.pipeline.build import RunOptions, plan_builds
from bakeansible.pipeline.context import BuildContext, SshTarget
from bakeansible.provisioners import commands
from bakeansible.provisioners.ansible import AnsibleProvisioner
from bakeansible.provisioners.commands import (
    command_path_env,
    find_ansible_command,
    interpreter_scripts_dir,
)

REPO = Path(__file__).resolve().parents[3]
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    proj = tmp_path / "project"
    shutil.copytree(REPO / "playbooks", proj / "playbooks")
    shutil.copytree(REPO / "roles", proj / "roles")
    return proj


def test_the_command_installed_alongside_bake_comes_before_path(tmp_path: Path) -> None:
    # Installed as the README says, ansible-core's commands sit next to this interpreter.
    ours = interpreter_scripts_dir() / "ansible-playbook"
    assert ours.is_file(), f"{ours}: ansible-core is not installed alongside bake"
    other = executable(tmp_path / "elsewhere" / "ansible-playbook")
    env = {"PATH": f"{other.parent}:{SYSTEM_PATH}"}
    assert find_ansible_command("ansible-playbook", env) == ours
    galaxy = find_ansible_command("ansible-galaxy", env)
    assert galaxy == interpreter_scripts_dir() / "ansible-galaxy"


def test_path_is_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "interpreter_scripts_dir", lambda: tmp_path / "empty")
    other = executable(tmp_path / "elsewhere" / "ansible-playbook")
    env = {"PATH": f"/nonexistent:{other.parent}"}
    assert find_ansible_command("ansible-playbook", env) == other


def test_a_missing_command_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "interpreter_scripts_dir", lambda: tmp_path / "empty")
    with pytest.raises(PreflightError) as err:
        find_ansible_command("ansible-galaxy", {"PATH": SYSTEM_PATH})
    message = str(err.value)
    assert "ansible-galaxy not found" in message
    assert str(tmp_path / "empty") in message and SYSTEM_PATH in message
    assert "pip install ansible-core" in (err.value.hint or "")


def test_the_child_path_starts_with_the_command_directory() -> None:
    path = command_path_env(Path("/venv/bin/ansible-playbook"), {"PATH": "/usr/bin:/bin"})
    assert path == "/venv/bin:/usr/bin:/bin"
    assert command_path_env(Path("/venv/bin/ansible-playbook"), {}) == "/venv/bin"


def test_the_run_plan_makes_ansible_runner_find_our_ansible_playbook(
    project: Path, tmp_path: Path
) -> None:
    spec = playbook_template(project / "playbooks/site.yml").builds[0].provisioners[0]
    prov = AnsibleProvisioner(spec, project)
    ctx = BuildContext(uuid.uuid4().hex, "local", "local", output_dir=tmp_path / "out")
    ctx.ssh = SshTarget("127.0.0.2", 22, "root", tmp_path / "key")
    try:
        plan = prov.prepare_run(ctx)
    finally:
        ctx.remove_temp_dir()
    assert plan.ansible_playbook == interpreter_scripts_dir() / "ansible-playbook"
    # ansible-runner spawns "ansible-playbook" looked up on this PATH (pexpect's which).
    assert shutil.which("ansible-playbook", path=plan.envvars["PATH"]) == str(plan.ansible_playbook)


def test_preflight_refuses_a_build_without_ansible_playbook(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "interpreter_scripts_dir", lambda: tmp_path / "empty")
    monkeypatch.setenv("PATH", SYSTEM_PATH)
    template = playbook_template(
        project / "playbooks/site.yml", build_options={"output_dir": str(tmp_path / "out")}
    )
    with pytest.raises(PreflightError, match="ansible-playbook not found"):
        plan_builds(template, RunOptions(project_dir=project))
    assert not (tmp_path / "out").exists()
