"""``galaxy_file``: the roles and collections of a requirements file, installed with
ansible-galaxy on the host before any instance exists.

As in Packer: ``ansible-galaxy role install -r FILE -p DIR`` for the roles and
``ansible-galaxy collection install -r FILE -p DIR`` for the collections, with ``--force``
(``galaxy_force_install``) and ``--force-with-deps`` (``galaxy_force_with_deps``). Relative
sources in the file are relative to the file's directory (ansible-galaxy runs there).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bakeansible.errors import BakeError, BuildCancelled, PreflightError, StepError
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.journal import Resource
from bakeansible.pipeline.reaper import deleter
from bakeansible.procs import run_cancellable
from bakeansible.provisioners.commands import find_ansible_command

JOURNAL_KIND = "ansible.galaxy_dir"


@dataclass(frozen=True)
class Requirements:
    """What a requirements file asks for: role names (as the playbook uses them), collections."""

    path: Path
    roles: tuple[str, ...]
    collections: int


def read_requirements(path: Path) -> Requirements:
    """Parse a requirements file (Galaxy's list-of-roles form or ``roles:``/``collections:``)."""
    if not path.is_file():
        raise BakeError(
            f"galaxy_file {path} does not exist.",
            hint="Point galaxy_file at a requirements.yml (relative paths are from the project).",
        )
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise BakeError(f"galaxy_file {path} is not valid YAML: {exc}") from None
    roles: Any
    collections: Any
    if isinstance(data, list):
        roles, collections = data, []
    elif isinstance(data, dict) and set(data) <= {"roles", "collections"}:
        roles, collections = data.get("roles") or [], data.get("collections") or []
    else:
        raise BakeError(
            f"galaxy_file {path}: expected a list of roles or a mapping with `roles` and/or "
            "`collections`.",
        )
    if not isinstance(roles, list) or not isinstance(collections, list):
        raise BakeError(f"galaxy_file {path}: `roles` and `collections` must be lists.")
    return Requirements(path, tuple(_role_name(r) for r in roles), len(collections))


def _role_name(entry: Any) -> str:
    """The name a role gets when installed (``name``, else derived from ``src`` as Galaxy does)."""
    if isinstance(entry, str):
        src, name = entry, ""
    elif isinstance(entry, dict):
        src, name = str(entry.get("src") or entry.get("role") or ""), str(entry.get("name") or "")
    else:
        return ""
    if name:
        return name
    src = src.split(",", 1)[0].rstrip("/")
    base = src.rsplit("/", 1)[-1]
    for suffix in (".tar.gz", ".tgz", ".tar", ".git"):
        base = base.removesuffix(suffix)
    return base


def find_galaxy_command(configured: str, project_dir: Path) -> str:
    """``galaxy_command``, else the ansible-galaxy next to bake's interpreter, else PATH's."""
    if configured:
        path = Path(configured).expanduser()
        if "/" in configured:
            path = path if path.is_absolute() else project_dir / path
            if path.is_file():
                return str(path)
        elif found := shutil.which(configured):
            return found
        raise PreflightError(
            f"galaxy_command {configured!r} was not found.",
            hint="Give the path of ansible-galaxy, or a command on PATH.",
        )
    return str(find_ansible_command("ansible-galaxy"))


@dataclass(frozen=True)
class GalaxyOptions:
    """How to run ansible-galaxy."""

    command: str
    force: bool = False
    force_with_deps: bool = False


def install_requirements(
    req: Requirements,
    options: GalaxyOptions,
    *,
    roles_dir: Path,
    collections_dir: Path,
    cancel: threading.Event,
    on_line: Callable[[str], None] | None = None,
    owner: BuildContext | None = None,
) -> None:
    """Install the roles into ``roles_dir`` and the collections into ``collections_dir``
    (``owner``: the build that journals ansible-galaxy as one of its host processes)."""
    flags = (["--force"] if options.force else []) + (
        ["--force-with-deps"] if options.force_with_deps else []
    )
    runs: list[tuple[str, Path]] = []
    if req.roles:
        runs.append(("role", roles_dir))
    if req.collections:
        runs.append(("collection", collections_dir))
    for kind, target in runs:
        target.mkdir(parents=True, exist_ok=True)
        # The collections path in the environment keeps ansible-galaxy from warning that
        # the target is not one of Ansible's configured paths.
        argv = [
            "env", f"ANSIBLE_COLLECTIONS_PATH={target}", "ANSIBLE_NOCOLOR=1",
            options.command, kind, "install", "-r", str(req.path), "-p", str(target), *flags,
        ]  # fmt: skip
        try:
            run_cancellable(
                argv,
                cancel=cancel,
                on_line=on_line,
                what=f"ansible-galaxy {kind} install",
                cwd=req.path.parent,
                owner=owner,
            )
        except BuildCancelled:
            raise
        except BakeError as exc:
            raise StepError(
                f"Installing the {kind}s of galaxy_file {req.path} failed: {exc.message}",
                hint="Check each source in the file (paths, URLs, versions); nothing was created "
                "for the build yet.",
            ) from None


@deleter(JOURNAL_KIND)
def delete_galaxy_dir(res: Resource) -> None:
    """``bake cleanup``: the install directory of a build that died."""
    path = Path(res.data["path"])
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        raise OSError(f"could not remove {path}")
