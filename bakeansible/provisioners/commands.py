"""Finding the Ansible commands bake runs (ansible-playbook, ansible-galaxy).

The commands installed alongside bake come first: the scripts directory of the Python running
bake (a venv's or pipx's ``bin/``), which is not on PATH when bake is called by its absolute path
or installed with pipx. PATH is the fallback, for an Ansible installed separately.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

from bakeansible.errors import PreflightError


def interpreter_scripts_dir() -> Path:
    """Where the running interpreter's packages install their commands (bake's own bin/)."""
    return Path(sysconfig.get_path("scripts"))


def find_ansible_command(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """The ``name`` command (e.g. ``ansible-playbook``) bake should run: the one installed
    alongside bake, else the first on ``PATH`` (of ``environ``, default the process's).

    Raises PreflightError naming where it looked.
    """
    scripts = interpreter_scripts_dir()
    candidate = scripts / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    path = (os.environ if environ is None else environ).get("PATH", "")
    found = shutil.which(name, path=path)
    if found:
        return Path(found)
    raise PreflightError(
        f"{name} not found: looked in {scripts} (next to bake's Python, {sys.executable}) "
        f"and on PATH ({path or 'empty'}).",
        hint=f"Install Ansible where bake runs: {sys.executable} -m pip install ansible-core",
    )


def command_path_env(command: Path, environ: Mapping[str, str] | None = None) -> str:
    """A PATH for a child process that puts ``command``'s directory first, so a child that
    looks commands up on PATH (ansible-runner does) runs exactly ``command``."""
    path = (os.environ if environ is None else environ).get("PATH", "")
    return os.pathsep.join([str(command.parent), *([path] if path else [])])
