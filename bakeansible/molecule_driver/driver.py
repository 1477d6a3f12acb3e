"""A molecule driver whose instances are ``bake instance`` containers.

Registered under the ``molecule.driver`` entry point group. Its create and destroy playbooks
(``playbooks/``, next to this file) run ``bake instance up --json`` / ``down`` for each platform
and write molecule's ``instance_config.yml`` (address, port, user, identity_file), from which
this class gives Ansible its connection settings for converge, idempotence and verify.

molecule's schema only admits driver names it lists or that start with ``molecule-`` or
``custom-``, hence ``molecule-bake`` rather than ``bake``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from molecule import util
from molecule.api import Driver

NAME = "molecule-bake"


class BakeDriver(Driver):
    """Instances are local systemd-nspawn containers booted by bake from a platform's
    ``source`` (debian:bookworm, debian:trixie or a baked image tarball)."""

    title = "Bake instances: containers booted as bake boots its builds, reached over SSH."

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)
        self._name = NAME

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def login_cmd_template(self) -> str:
        options = " ".join(self.ssh_connection_options)
        return f"ssh {{address}} -l {{user}} -p {{port}} -i {{identity_file}} {options}"

    @property
    def default_ssh_connection_options(self) -> list[str]:
        return self._get_ssh_connection_options()

    @property
    def default_safe_files(self) -> list[str]:
        return [self.instance_config]

    def login_options(self, instance_name: str) -> dict[str, str]:
        return {"instance": instance_name, **self._instance(instance_name)}

    def ansible_connection_options(self, instance_name: str) -> dict[str, Any]:
        found = self._instance(instance_name)
        if not found:
            return {}  # not created yet
        return {
            "ansible_connection": "ssh",
            "ansible_host": found["address"],
            "ansible_port": found["port"],
            "ansible_user": found["user"],
            "ansible_private_key_file": found["identity_file"],
            "ansible_ssh_common_args": " ".join(self.ssh_connection_options),
        }

    def sanity_checks(self) -> None:
        if os.geteuid() != 0:
            util.sysexit_with_message(
                "The molecule-bake driver needs root: bake boots its instances with "
                "systemd-nspawn. Run molecule as root, e.g. with sudo."
            )

    def schema_file(self) -> str:
        return str(Path(__file__).with_name("driver.json"))

    def _instance(self, instance_name: str) -> dict[str, Any]:
        """This instance's entry of instance_config.yml, or {} before create wrote it."""
        try:
            entries = util.safe_load_file(self.instance_config) or []
        except OSError:
            return {}
        return next((e for e in entries if e.get("instance") == instance_name), {})
