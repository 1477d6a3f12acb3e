"""The ansible provisioner's Packer options on a real local build: galaxy_file (a role tarball
and a collection built with ansible-galaxy, installed before the container exists),
inventory_file_template (the rendered inventory is the one Ansible reads) and ssh_agent_auth
(a real ssh-agent holds the only key the container accepts)."""

from __future__ import annotations

import os
import signal
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env, run_bake

ROLE_TASKS = """\
- name: Mark the galaxy role
  ansible.builtin.copy: {dest: /etc/bake-galaxy-role, content: "role from a tarball\\n"}
"""
ROLE_META = "galaxy_info: {author: bake, description: t, license: MIT}\n"
COLLECTION_ROLE_TASKS = """\
- name: Mark the collection role
  ansible.builtin.copy: {dest: /etc/bake-collection-role, content: "role from a collection\\n"}
"""
PLAYBOOK = """\
- hosts: web
  gather_facts: false
  roles:
    - tarball_role
  tasks:
    - ansible.builtin.include_role: {name: bakens.tools.greet}
    - name: Write the host variable only the inventory template sets
      ansible.builtin.copy: {dest: /etc/bake-template-var, content: "{{ from_template }}\\n"}
"""
TEMPLATE = """\
builds:
  - name: opts
    type: local
    image_name: opts
    ssh_agent_auth: true
provisioners:
  - type: ansible
    playbook_file: playbooks/opts.yml
    galaxy_file: requirements.yml
    galaxy_force_install: true
    keep_inventory_file: true
    groups: [web]
    inventory_file_template: >-
      {{ .HostAlias }} ansible_host={{ .Host }} ansible_port={{ .Port }}
      ansible_user={{ .User }} from_template={{ .BuildName }}-rendered
"""


def make_sources(directory: Path) -> None:
    """A role tarball and a collection tarball (ansible-galaxy collection build), both local."""
    role = directory / "src/tarball_role"
    (role / "tasks").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "tasks/main.yml").write_text(ROLE_TASKS)
    (role / "meta/main.yml").write_text(ROLE_META)
    subprocess.run(
        ["tar", "czf", str(directory / "tarball_role.tar.gz"), "-C", str(role.parent), role.name],
        check=True,
    )
    coll = directory / "src/bakens/tools"
    init_path = str(coll.parent.parent)
    subprocess.run(
        ["ansible-galaxy", "collection", "init", "bakens.tools", "--init-path", init_path],
        check=True, capture_output=True,
    )  # fmt: skip
    (coll / "roles/greet/tasks").mkdir(parents=True)
    (coll / "roles/greet/tasks/main.yml").write_text(COLLECTION_ROLE_TASKS)
    subprocess.run(
        ["ansible-galaxy", "collection", "build", str(coll), "--output-path", str(directory)],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real ssh-agent holding a fresh key; always killed."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        key = tmp_path / "agent_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        env = {"SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(key)], check=True, env={**os.environ, **env})
        key.unlink()  # the agent is now the only holder of the private key
        yield env
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


@pytest.mark.usefixtures("base_rootfs")
def test_galaxy_inventory_template_and_agent_on_a_real_build(
    project: Path, state_dir: Path, agent: dict[str, str], no_leaks: None
) -> None:
    make_sources(project)
    (project / "requirements.yml").write_text(
        "roles:\n  - src: file://" + str(project / "tarball_role.tar.gz") + "\n"
        "    name: tarball_role\n"
        "collections:\n  - name: ./bakens-tools-1.0.0.tar.gz\n    type: file\n"
    )
    (project / "playbooks/opts.yml").write_text(PLAYBOOK)
    (project / "bake.yml").write_text(TEMPLATE)

    result = run_bake(["build"], project, **agent)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Installing the roles and collections of" in out
    assert "Using the keys of the ssh-agent..." in out
    assert "Creating temporary key pair" not in out

    inventory = (project / "output/opts-ansible/inventory/hosts").read_text()
    assert inventory.startswith("default ansible_host=")
    assert "[web]\ndefault ansible_host=" in inventory
    assert "from_template=opts-rendered" in inventory
    assert "ansible_ssh_private_key_file" not in inventory  # the agent's keys, no key file

    tar_path = project / "opts.tar"
    subprocess.run(["zstd", "-d", "-q", str(project / "output/opts.tar.zst"), "-o", str(tar_path)],
                   check=True)  # fmt: skip
    with tarfile.open(tar_path) as tar:
        def read(name: str) -> str:
            member = tar.extractfile(name)
            assert member is not None, name
            return member.read().decode()

        assert read("./etc/bake-galaxy-role") == "role from a tarball\n"
        assert read("./etc/bake-collection-role") == "role from a collection\n"
        assert read("./etc/bake-template-var") == "opts-rendered\n"
        assert "./root/.ssh/authorized_keys" not in tar.getnames()

    # The installed roles and collections went with the build; the journal holds nothing.
    assert not list((project / "output/opts-ansible").glob("galaxy-*"))
    assert Journal(state_dir / "journal.sqlite").open_resources() == []


def test_unfetchable_requirement_fails_before_the_container(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    (project / "requirements.yml").write_text(
        "roles:\n  - src: file:///nonexistent/role.tar.gz\n    name: gone\n"
    )
    (project / "bake.yml").write_text(
        "builds:\n  - {name: web, type: local, image_name: web}\n"
        "provisioners:\n  - type: ansible\n    playbook_file: playbooks/site.yml\n"
        "    galaxy_file: requirements.yml\n"
    )
    result = run_bake(["build"], project, BAKE_CACHE_DIR=str(project / "no-cache"))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Installing the roles of galaxy_file" in out and "/nonexistent/role.tar.gz" in out
    assert "Traceback" not in out
    # Nothing of the build was made: no base build, no instance directory, no container (the
    # no_leaks fixture), no image, no install directory, nothing open in the journal.
    assert "Starting container" not in out and "Preparing source image" not in out
    assert not (project / "no-cache").exists()
    assert not (state_dir / "instances").exists() or not list((state_dir / "instances").iterdir())
    assert not (project / "output/web.tar.zst").exists()
    assert not list((project / "output/web-ansible").glob("galaxy-*"))
    assert Journal(state_dir / "journal.sqlite").open_resources() == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unset", "SSH_AUTH_SOCK is not set"),
        ("missing socket", "does not exist"),
        ("empty agent", "holds no key"),
    ],
)
def test_ssh_agent_auth_refused_without_a_usable_agent(
    project: Path, state_dir: Path, tmp_path: Path, no_leaks: None, case: str, expected: str
) -> None:
    (project / "bake.yml").write_text(
        "builds:\n  - {name: web, type: local, image_name: web, ssh_agent_auth: true}\n"
        "provisioners:\n  - {type: ansible, playbook_file: playbooks/site.yml}\n"
    )
    sock = tmp_path / "agent.sock"
    proc = None
    if case == "empty agent":
        proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        if proc is not None:
            while not sock.exists():
                subprocess.run(["sleep", "0.05"], check=True)
        env = bake_env(BAKE_CACHE_DIR=str(tmp_path / "cache"))
        env.pop("SSH_AUTH_SOCK", None)
        if case != "unset":
            env["SSH_AUTH_SOCK"] = str(sock)
        for verb in ("validate", "build"):
            result = subprocess.run(
                ["bake", verb], cwd=project, capture_output=True, text=True, timeout=60, env=env
            )
            assert result.returncode == 1, result.stdout + result.stderr
            assert result.stderr.startswith("Error: "), result.stderr
            assert "ssh_agent_auth is set, but" in result.stderr and expected in result.stderr
            assert "Traceback" not in result.stderr
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    assert not (tmp_path / "cache").exists()
    assert not (project / "output").exists()
