"""The ansible provisioner's Packer options without an instance: inventory_file_template
rendering and refusal, galaxy_file parsing and a real ansible-galaxy install from local files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from bakeansible.cli import validate
from bakeansible.errors import BakeError
from bakeansible.provisioners.galaxy import (
    GalaxyOptions,
    find_galaxy_command,
    install_requirements,
    read_requirements,
)
from bakeansible.provisioners.inventory import (
    render_host_line,
    render_ini_inventory,
    template_problems,
)

PACKER_DEFAULT = "{{ .HostAlias }} ansible_host={{ .Host }} ansible_user={{ .User }} ansible_port={{ .Port }}\n"  # noqa: E501


def test_packer_default_template_renders_packer_layout() -> None:
    values = {"HostAlias": "default", "Host": "10.0.0.5", "User": "root", "Port": 22}
    line = render_host_line(PACKER_DEFAULT, values)
    assert line == "default ansible_host=10.0.0.5 ansible_user=root ansible_port=22\n"
    text = render_ini_inventory(line, ["web"], ["db"], {"ansible_python_interpreter": "auto"})
    assert text == (
        f"{line}[web]\n{line}[db]\n[all:vars]\nansible_python_interpreter=auto\n"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .Hots }} x", "unknown variable `.Hots`"),
        ("{{ .Host | upper }}", "is not supported"),
        ("{{ build_name }}", "is not supported"),
    ],
)
def test_template_problems(template: str, expected: str) -> None:
    (problem,) = template_problems(template)
    assert expected in problem


def test_validate_refuses_unknown_template_variable(tmp_path: Path) -> None:
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    (tmp_path / "bake.yml").write_text(
        "builds:\n  - {name: web, type: local}\n"
        "provisioners:\n  - type: ansible\n    playbook_file: site.yml\n"
        "    inventory_file_template: '{{ .HostAlias }} ansible_host={{ .Address }}'\n"
    )
    result = CliRunner().invoke(validate.command, [str(tmp_path / "bake.yml")])
    assert result.exit_code == 1, result.output
    assert "bake.yml:4:5: provisioners[0]" in result.output
    assert "unknown variable `.Address`" in result.output


def test_read_requirements_names_roles(tmp_path: Path) -> None:
    req = tmp_path / "requirements.yml"
    req.write_text(
        "roles:\n  - src: file:///x/nginx_role.tar.gz\n  - {src: geerlingguy.java, name: java}\n"
        "  - https://example.com/repo/acme.git,v1\n"
        "collections:\n  - {name: ./c.tar.gz, type: file}\n"
    )
    parsed = read_requirements(req)
    assert parsed.roles == ("nginx_role", "java", "acme")
    assert parsed.collections == 1
    req.write_text("- src: file:///x/old_style.tar.gz\n")
    assert read_requirements(req).roles == ("old_style",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, "does not exist"), ("roles: [", "not valid YAML"), ("foo: 1\n", "expected a list")],
)
def test_read_requirements_refuses(tmp_path: Path, text: str | None, expected: str) -> None:
    req = tmp_path / "requirements.yml"
    if text is not None:
        req.write_text(text)
    with pytest.raises(BakeError, match=expected):
        read_requirements(req)


def test_galaxy_command_not_found(tmp_path: Path) -> None:
    with pytest.raises(BakeError, match="galaxy_command 'no-such-galaxy' was not found"):
        find_galaxy_command("no-such-galaxy", tmp_path)
    with pytest.raises(BakeError, match="was not found"):
        find_galaxy_command("bin/ansible-galaxy", tmp_path)


def test_install_from_local_tarball_and_failure(tmp_path: Path) -> None:
    role = tmp_path / "src/tarrole"
    (role / "tasks").mkdir(parents=True)
    (role / "tasks/main.yml").write_text("- ansible.builtin.debug: {msg: hi}\n")
    (role / "meta").mkdir()
    (role / "meta/main.yml").write_text("galaxy_info: {author: t, license: MIT}\n")
    import subprocess

    subprocess.run(["tar", "czf", "tarrole.tar.gz", "-C", "src", "tarrole"], cwd=tmp_path,
                   check=True)  # fmt: skip
    req = tmp_path / "requirements.yml"
    req.write_text("roles:\n  - {src: file://" + str(tmp_path / "tarrole.tar.gz") + "}\n")
    options = GalaxyOptions(find_galaxy_command("", tmp_path), force=True)
    out = tmp_path / "out"
    install_requirements(
        read_requirements(req), options, roles_dir=out / "roles",
        collections_dir=out / "collections", cancel=threading.Event(),
    )  # fmt: skip
    assert (out / "roles/tarrole/tasks/main.yml").is_file()
    assert not (out / "collections").exists()

    req.write_text("roles:\n  - {src: 'file:///nonexistent/gone.tar.gz', name: gone}\n")
    with pytest.raises(BakeError, match="Installing the roles of galaxy_file .* failed"):
        install_requirements(
            read_requirements(req), options, roles_dir=out / "roles",
            collections_dir=out / "collections", cancel=threading.Event(),
        )  # fmt: skip


def test_shell_execute_command_references() -> None:
    from bakeansible.provisioners.config import ShellConfig
    from bakeansible.provisioners.inventory import render_references

    command = ShellConfig(inline=("true",), execute_command="sudo {{.Vars}} sh '{{ .Path}}'")
    rendered = render_references(command.execute_command, {"Path": "/tmp/s.sh", "Vars": "A=1"})
    assert rendered == "sudo A=1 sh '/tmp/s.sh'"
    with pytest.raises(ValueError, match="unknown variable `.EnvVarFile`"):
        ShellConfig(inline=("true",), execute_command=". {{.EnvVarFile}} && {{.Path}}")
