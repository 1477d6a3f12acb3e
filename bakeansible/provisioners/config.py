"""Options of the built-in provisioners (Packer's key names are accepted as they are)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bakeansible.config.fields import opt


@dataclass(frozen=True)
class AnsibleConfig:
    """Run a playbook with ansible-runner, connecting straight to the instance over SSH."""

    playbook_file: str = opt(doc="The playbook to run.", aliases=("playbook",))
    extra_arguments: tuple[str, ...] = opt(factory=tuple, doc="More ansible-playbook arguments.")
    extra_vars: dict[str, Any] = opt(factory=dict, doc="Variables passed as --extra-vars.")
    ansible_env_vars: tuple[str, ...] = opt(
        factory=tuple, doc="Environment for Ansible, as KEY=VALUE strings."
    )
    groups: tuple[str, ...] = opt(factory=tuple, doc="Inventory groups the host is put in.")
    empty_groups: tuple[str, ...] = opt(factory=tuple, doc="Inventory groups left empty.")
    host_alias: str = opt("default", doc="Inventory name of the instance.")
    user: str = opt("", doc="ansible_user; default: the builder's ssh_username.")
    roles_path: str = opt(
        "",
        doc="Extra roles directories (colon-separated); with galaxy_file, the roles are "
        "installed into the first one (Packer's meaning).",
    )
    collections_path: str = opt(
        "",
        doc="Extra collections directories (colon-separated); with galaxy_file, the "
        "collections are installed into the first one.",
    )
    galaxy_file: str = opt(
        "",
        doc="requirements.yml whose roles and collections ansible-galaxy installs before any "
        "instance is created (into the build's directory unless roles_path/collections_path).",
    )
    galaxy_command: str = opt("", doc="ansible-galaxy to run (default: the one next to bake).")
    galaxy_force_install: bool = opt(False, doc="Pass --force to ansible-galaxy.")
    galaxy_force_with_deps: bool = opt(False, doc="Pass --force-with-deps to ansible-galaxy.")
    inventory_file_template: str = opt(
        "",
        doc="Packer's inventory line template ({{ .HostAlias }}, {{ .Host }}, {{ .Port }}, "
        "{{ .User }}, ...), rendered into an INI inventory used instead of bake's.",
    )
    keep_inventory_file: bool = opt(False, doc="Keep the generated inventory after the build.")
    use_proxy: bool | None = opt(None, doc="Accepted for Packer templates and ignored.")
    verbosity: int = opt(0, doc="ansible-playbook -v level (0-4).")
    idempotence: bool = opt(
        False,
        doc="Run the playbook a second time and fail, naming the tasks, if any reports "
        "changed (molecule's idempotence check).",
    )

    def __post_init__(self) -> None:
        from bakeansible.provisioners.inventory import template_problems

        problems = template_problems(self.inventory_file_template)
        if problems:
            raise ValueError("inventory_file_template: " + "; ".join(problems))


@dataclass(frozen=True)
class ShellConfig:
    """Run shell commands or scripts on the instance over SSH."""

    inline: tuple[str, ...] = opt(factory=tuple, doc="Commands, run in one shell with -e.")
    script: str = opt("", doc="A local script to upload and run.")
    scripts: tuple[str, ...] = opt(factory=tuple, doc="Local scripts, uploaded and run in order.")
    environment_vars: tuple[str, ...] = opt(factory=tuple, doc="KEY=VALUE set for each command.")
    execute_command: str = opt(
        "chmod +x {{.Path}}; {{.Vars}} {{.Path}}", doc="How each script is run (Packer syntax)."
    )
    inline_shebang: str = opt("/bin/sh -e", doc="Interpreter of the inline commands.")
    remote_folder: str = opt("/tmp", doc="Where scripts are uploaded.")

    def __post_init__(self) -> None:
        from bakeansible.provisioners.inventory import template_problems

        problems = template_problems(self.execute_command, names=("Path", "Vars"))
        if problems:
            raise ValueError("execute_command: " + "; ".join(problems))
