"""What Ansible users expect of a project, on one real local build: group_vars/ and host_vars/
beside bake.yml and beside the playbook, the project's ansible.cfg (its roles_path and settings
apply, bake's required ones win with a note), ANSIBLE_* variables passed through, --tags,
--skip-tags and -e @file in extra_arguments, and idempotence: true (site.yml's nginx role
passes it, a deliberately non-idempotent task fails the build, named). Then check mode:
``bake --playbook site.yml -check`` runs on a fresh container and makes no image."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import run_bake

BAKE_YML = """\
builds:
  - {name: conv, type: local, image_name: conv}
provisioners:
  - type: ansible
    playbook_file: playbooks/site.yml
    idempotence: true
  - type: ansible
    playbook_file: playbooks/conv.yml
    idempotence: true
    groups: [web]
    extra_arguments: ["--tags", "conv", "--skip-tags=never_run", "-e", "@vars/extra.yml"]
"""
ANSIBLE_CFG = """\
[defaults]
roles_path = cfg_roles
timeout = 17
host_key_checking = True  ; bake needs it off: a note says it was overridden
"""
CONV_YML = """\
---
- name: Conventions
  hosts: web
  gather_facts: false
  tasks:
    - name: Conventions reach the play
      tags: [conv]
      ansible.builtin.assert:
        that:
          - from_group_vars == 'project'
          - from_host_vars == 'project'
          - from_playbook_group_vars == 'playbook'
          - from_extra_file == 'extra'
          - lookup('ansible.builtin.config', 'DEFAULT_TIMEOUT') == 17
          - lookup('ansible.builtin.config', 'DEFAULT_FORKS') == 3
          - not lookup('ansible.builtin.config', 'HOST_KEY_CHECKING')
    - name: Role found through ansible.cfg's roles_path
      tags: [conv]
      ansible.builtin.import_role:
        name: cfg_role
    - name: Left out by --tags
      tags: [other]
      ansible.builtin.fail:
        msg: --tags did not reach ansible-playbook
    - name: Left out by --skip-tags
      tags: [conv, never_run]
      ansible.builtin.fail:
        msg: --skip-tags did not reach ansible-playbook
    - name: Not idempotent
      tags: [conv]
      ansible.builtin.command: /bin/true
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.usefixtures("base_rootfs")
def test_project_conventions_and_idempotence(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    write(project / "bake.yml", BAKE_YML)
    write(project / "ansible.cfg", ANSIBLE_CFG)
    write(project / "playbooks/conv.yml", CONV_YML)
    write(project / "group_vars/all.yml", "from_group_vars: project\n")
    write(project / "host_vars/default.yml", "from_host_vars: project\n")
    write(project / "playbooks/group_vars/web.yml", "from_playbook_group_vars: playbook\n")
    write(project / "vars/extra.yml", "from_extra_file: extra\n")
    write(project / "cfg_roles/cfg_role/tasks/main.yml",
          "- name: The ansible.cfg role ran\n  ansible.builtin.assert: {that: [true]}\n")

    result = run_bake(["build"], project, ANSIBLE_FORKS="3", ANSIBLE_NOCOLOR="0")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert f"Ansible settings from {project / 'ansible.cfg'}" in out
    note = [line for line in out.splitlines() if "Note: bake's required" in line]
    assert note and note[0].endswith(
        "Note: bake's required Ansible settings win over "
        f"[defaults] host_key_checking in {project / 'ansible.cfg'}, "
        "ANSIBLE_NOCOLOR from the environment"
    ), note
    # site.yml: the nginx role changes nothing on its second run.
    assert out.count("Running the playbook a second time to check idempotence...") == 2
    assert "Idempotence check passed: the second run changed nothing." in out
    assert "TASK [Conventions reach the play] ok: default" in out
    assert "TASK [The ansible.cfg role ran] ok: default" in out
    assert "Left out by" not in out
    assert (
        "Idempotence check failed: playbook conv.yml changed 1 task(s) on its second run: "
        "task 'Not idempotent' on host default"
    ) in out
    assert not (project / "output/conv.tar.zst").exists()
    assert not (project / "output/manifest.json").exists()
    # The links to the project's vars went with the inventory.
    assert not list((project / "output/conv-ansible/inventory").iterdir())
    assert Journal(state_dir / "journal.sqlite").open_resources() == []


@pytest.mark.usefixtures("base_rootfs")
def test_check_mode_makes_no_image(project: Path, state_dir: Path, no_leaks: None) -> None:
    refused = run_bake(["--playbook", "playbooks/site.yml", "-check", "-force"], project)
    assert refused.returncode == 1 and refused.stderr.startswith("Error: -check makes no image")
    refused = run_bake(["--playbook", "playbooks/site.yml", "--check", "--image-name", "x"],
                       project)  # fmt: skip
    assert refused.returncode == 1 and "--image-name means nothing" in refused.stderr

    result = run_bake(["--playbook", "playbooks/site.yml", "-check"], project)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Running the playbook in check mode (--check --diff): nothing changes." in out
    assert "TASK [Install nginx] changed: default" in out
    assert "+++ after" in out  # diffs are shown
    assert "Skipping: Creating image site.tar.zst (check mode makes no image)" in out
    assert "no image, artifact or manifest entry was made" in out
    assert not (project / "output/site.tar.zst").exists()
    assert not (project / "output/manifest.json").exists()
    assert Journal(state_dir / "journal.sqlite").open_resources() == []
