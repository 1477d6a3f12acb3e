"""Static checks of a playbook before anything is created: it parses and its roles exist."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import yaml

from bakeansible.errors import BakeError

ROLE_TASK_MODULES = {
    "include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role",
}


def default_roles_paths(playbook: Path, project_dir: Path) -> list[str]:
    """Where roles are looked up: next to the playbook, its parent, the project, Ansible's."""
    return list(
        dict.fromkeys([*project_roles_paths(playbook, project_dir), *system_roles_paths()])
    )


def project_roles_paths(playbook: Path, project_dir: Path) -> list[str]:
    """The project's own roles directories: next to the playbook, its parent, the project."""
    candidates = [
        playbook.parent / "roles",
        playbook.parent.parent / "roles",
        project_dir / "roles",
    ]
    return list(dict.fromkeys(str(p.resolve()) for p in candidates))


def system_roles_paths() -> list[str]:
    """Ansible's default roles directories (the user's, then the system's)."""
    candidates = [
        Path.home() / ".ansible/roles",
        Path("/usr/share/ansible/roles"),
        Path("/etc/ansible/roles"),
    ]
    return [str(p.resolve()) for p in candidates]


def _role_names(plays: list[Any]) -> Iterator[str]:
    for play in plays:
        if not isinstance(play, dict):
            continue
        for role in play.get("roles") or []:
            name = role if isinstance(role, str) else (role or {}).get("role") or (
                role or {}
            ).get("name")
            if isinstance(name, str):
                yield name
        for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
            yield from _task_roles(play.get(section) or [])


def _task_roles(tasks: list[Any]) -> Iterator[str]:
    for task in tasks:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always"):
            yield from _task_roles(task.get(key) or [])
        for module in ROLE_TASK_MODULES & task.keys():
            args = task[module]
            name = args.get("name") if isinstance(args, dict) else None
            if isinstance(name, str):
                yield name


def check_playbook(
    playbook: Path, roles_path: list[str], installed: Collection[str] = ()
) -> None:
    """Raise BakeError if the playbook is missing, not a list of plays, or names a missing role.

    ``installed`` names roles that galaxy_file installs before the run."""
    if not playbook.is_file():
        raise BakeError(
            f"Playbook {playbook} does not exist.",
            hint="Pass the path of a playbook, e.g. bake --playbook playbooks/site.yml",
        )
    try:
        plays = yaml.safe_load(playbook.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BakeError(f"Playbook {playbook}{where} is not valid YAML: {problem}.") from None
    if not isinstance(plays, list) or not plays:
        raise BakeError(f"Playbook {playbook} must be a YAML list of plays.")
    for name in _role_names(plays):
        # Templated names and collection roles (namespace.collection.role) resolve at run time.
        if "{{" in name or name.count(".") >= 2:
            continue
        if (Path(name).is_absolute() and Path(name).is_dir()) or name in installed:
            continue
        if not any((Path(p) / name).is_dir() for p in roles_path):
            searched = "\n  ".join(roles_path)
            raise BakeError(
                f"Playbook {playbook} uses role '{name}', which was not found. "
                f"Searched:\n  {searched}",
                hint="Put the role in a roles/ directory next to the playbook or the project, "
                "or set roles_path on the ansible provisioner.",
            )
