"""The files a build's provisioners read, found statically (no Ansible run).

For an ansible provisioner: the playbook and the playbooks it imports, its ``vars_files``, the
task and variable files it includes by a literal name, the directories Ansible reads next to the
playbook (``group_vars``, ``host_vars``, ``templates``, plugins...), ``ansible.cfg``, ``-e @file``
arguments, the galaxy requirements file, and every role it uses: through ``roles:``,
``include_role``/``import_role`` (also inside roles) and ``meta/main.yml`` dependencies, looked
up on the provisioner's roles path. A role named by a template expression cannot be resolved, so
then every role of the project's roles directories counts. For a shell provisioner: its scripts.
Inside a role, what Ansible never reads when it plays the role (``molecule/``, ``tests/``,
``README``) is left out, so editing a role's tests does not force a rebuild. The collections the
playbooks name (fully qualified roles and modules, ``collections:``) count too; see
``collections.py`` for what identifies each.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bakeansible.artifacts.checksum import file_digest
from bakeansible.artifacts.collections import (
    COLLECTION_SKIP,
    collection_of,
    collection_version,
    find_collection,
    search_roots,
)
from bakeansible.config.model import BuildSpec
from bakeansible.provisioners.playbook import project_roles_paths, system_roles_paths

# What Ansible reads from the directory of the playbook it runs.
PLAYBOOK_DIRS = (
    "group_vars", "host_vars", "library", "module_utils", "filter_plugins", "lookup_plugins",
    "action_plugins", "callback_plugins", "templates", "files", "vars", "tasks", "handlers",
)  # fmt: skip
ROLE_SKIP = ("molecule", "tests", ".git")
ROLE_MODULES = {"include_role", "import_role"}
TASK_FILE_MODULES = {"include_tasks", "import_tasks", "include_vars", "include"}
PLAYBOOK_MODULES = {"import_playbook", "include_playbook"}


def _module(key: str) -> str:
    """``ansible.builtin.include_role`` -> ``include_role``."""
    return key.removeprefix("ansible.builtin.").removeprefix("ansible.legacy.")


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # the provisioner's own validation reports it


def _literal(value: Any) -> str | None:
    """A file or role name usable statically: a string without a template expression."""
    if isinstance(value, dict):
        value = (
            value.get("file") or value.get("name") or value.get("role") or value.get("_raw_params")
        )
    if isinstance(value, str) and value and "{{" not in value:
        return value
    return None


def _files_below(path: Path, skip: tuple[str, ...] = ()) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        return
    for child in sorted(path.rglob("*")):
        rel = child.relative_to(path).parts
        if child.is_file() and not (rel and rel[0] in skip) and "__pycache__" not in rel:
            yield child


class _Collector:
    """Walks a playbook and the roles it uses, collecting the files read."""

    def __init__(
        self,
        roles_path: list[Path],
        all_roles: list[Path],
        collection_roots: list[Path],
        project_dir: Path,
    ) -> None:
        self.project_dir = project_dir.resolve()
        self.roles_path = roles_path
        self.all_roles = all_roles  # what "every role" means when a name is an expression
        self.collection_roots = collection_roots
        self.files: set[Path] = set()
        self.collections: set[str] = set()
        self._roles: set[Path] = set()
        self._seen: set[Path] = set()

    def add(self, path: Path, skip: tuple[str, ...] = ()) -> None:
        self.files.update(p.resolve() for p in _files_below(path, skip))

    # -- playbooks ------------------------------------------------------------------------
    def playbook(self, path: Path) -> None:
        path = path.resolve()
        if path in self._seen or not path.is_file():
            return
        self._seen.add(path)
        self.add(path)
        for dirname in PLAYBOOK_DIRS:
            self.add(path.parent / dirname)
        plays = _load_yaml(path)
        for play in plays if isinstance(plays, list) else []:
            if not isinstance(play, dict):
                continue
            for key, value in play.items():
                if _module(key) in PLAYBOOK_MODULES and (name := _literal(value)):
                    self.playbook(path.parent / name)
            for entry in play.get("vars_files") or []:
                for option in entry if isinstance(entry, list) else [entry]:
                    if name := _literal(option):
                        self.add(path.parent / name)
            for name in play.get("collections") or []:
                if isinstance(name, str) and "{{" not in name and name.count(".") == 1:
                    self.collections.add(name)
            for role in play.get("roles") or []:
                self.role(_literal(role))
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                self.tasks(play.get(section) or [], path.parent)

    def tasks(self, tasks: Any, base: Path) -> None:
        """Roles and files a task list names; ``base`` resolves relative task files."""
        for task in tasks if isinstance(tasks, list) else []:
            if not isinstance(task, dict):
                continue
            for key in ("block", "rescue", "always"):
                self.tasks(task.get(key) or [], base)
            for key, value in task.items():
                if collection := collection_of(key):
                    self.collections.add(collection)
                module = _module(key)
                if module in ROLE_MODULES:
                    self.role(_literal(value))
                elif module in TASK_FILE_MODULES and (name := _literal(value)):
                    self.task_file(base, name, module)

    def task_file(self, base: Path, name: str, module: str) -> None:
        candidates = [base / name, base / "tasks" / name, base / "vars" / name]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None or found.resolve() in self._seen:
            return
        self._seen.add(found.resolve())
        self.add(found)
        if module != "include_vars":
            self.tasks(_load_yaml(found), base)

    # -- roles ----------------------------------------------------------------------------
    def role(self, name: str | None) -> None:
        """Add the role's files and those of the roles it depends on. ``None``: a role named
        by an expression, so every role of the project counts."""
        if name is None:
            for root in self.all_roles:
                for role_dir in sorted(root.iterdir()) if root.is_dir() else []:
                    self.role_dir(role_dir)
            return
        if collection := collection_of(name):
            self.collections.add(collection)
            found = find_collection(collection, self.collection_roots)
            if found is not None and found.is_relative_to(self.project_dir):
                # Vendored: walk the role for the roles and collections it uses in turn.
                self.role_dir(found / "roles" / name.split(".", 2)[2])
            return
        candidate = Path(name).expanduser()
        if candidate.is_absolute():
            self.role_dir(candidate)
            return
        for root in self.roles_path:
            if (root / name).is_dir():
                self.role_dir(root / name)
                return

    def role_dir(self, path: Path) -> None:
        path = path.resolve()
        if path in self._roles or not path.is_dir():
            return
        self._roles.add(path)
        self.files.update(
            p.resolve()
            for p in _files_below(path, ROLE_SKIP)
            if not p.name.lower().startswith("readme")
        )
        meta = _load_yaml(path / "meta" / "main.yml")
        deps = meta.get("dependencies") if isinstance(meta, dict) else None
        for dep in deps if isinstance(deps, list) else []:
            self.role(_literal(dep))
        for section in ("tasks", "handlers"):
            for task_file in sorted((path / section).glob("*.y*ml")):
                self.tasks(_load_yaml(task_file), path)


def _resolve(project_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else project_dir / path


def _extra_var_files(arguments: Iterable[str]) -> Iterator[str]:
    """The ``@file`` values of ``-e``/``--extra-vars`` arguments."""
    args = list(arguments)
    for i, arg in enumerate(args):
        value = ""
        if arg in ("-e", "--extra-vars") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--extra-vars="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-e") and len(arg) > 2:
            value = arg[2:]
        if value.startswith("@"):
            yield value[1:]


@dataclass
class Inputs:
    """What the build's provisioners read: files (absolute, sorted) and, per collection used
    from outside the project, what identifies it (``version:1.2.3``, ``sha256:…`` or
    ``absent``)."""

    files: list[Path] = field(default_factory=list)
    collections: dict[str, str] = field(default_factory=dict)


def input_files(spec: BuildSpec, project_dir: Path) -> list[Path]:
    """Every file the build's provisioners read (absolute, sorted)."""
    return provisioner_inputs(spec, project_dir).files


def provisioner_inputs(spec: BuildSpec, project_dir: Path) -> Inputs:
    """The files and the collections the build's provisioners read."""
    files: set[Path] = set()
    collections: dict[str, str] = {}
    for cfg_file in (project_dir / "ansible.cfg",):
        if cfg_file.is_file():
            files.add(cfg_file.resolve())
    for prov in spec.provisioners:
        cfg = prov.config
        for name in ("script", "galaxy_file"):
            if value := getattr(cfg, name, ""):
                files.update(p.resolve() for p in _files_below(_resolve(project_dir, value)))
        for script in getattr(cfg, "scripts", ()):
            files.update(p.resolve() for p in _files_below(_resolve(project_dir, script)))
        playbook_file = getattr(cfg, "playbook_file", "")
        if not playbook_file:
            continue
        playbook = _resolve(project_dir, playbook_file).resolve()
        configured = [
            _resolve(project_dir, p).resolve()
            for p in str(getattr(cfg, "roles_path", "") or "").split(":")
            if p
        ]
        project_roles = [Path(p) for p in project_roles_paths(playbook, project_dir)]
        system = [Path(p) for p in system_roles_paths()]
        collection_paths = [
            _resolve(project_dir, p).resolve()
            for p in str(getattr(cfg, "collections_path", "") or "").split(":")
            if p
        ]
        collector = _Collector(
            [*configured, *project_roles, *system],
            [*configured, *project_roles],
            search_roots(collection_paths, playbook),
            project_dir,
        )
        collector.playbook(playbook)
        if (playbook.parent / "ansible.cfg").is_file():
            collector.add(playbook.parent / "ansible.cfg")
        for name in _extra_var_files(getattr(cfg, "extra_arguments", ())):
            collector.add(_resolve(project_dir, name))
        files |= collector.files
        for name in sorted(collector.collections):
            found = find_collection(name, collector.collection_roots)
            if found is not None and found.is_relative_to(collector.project_dir):
                files.update(p.resolve() for p in _files_below(found, COLLECTION_SKIP))
            else:
                collections[name] = _identity(found)
    return Inputs(sorted(files), collections)


def _identity(path: Path | None) -> str:
    """What identifies a collection installed outside the project."""
    if path is None:
        return "absent"
    if version := collection_version(path):
        return f"version:{version}"
    digest = hashlib.sha256()
    for file in _files_below(path, COLLECTION_SKIP):
        digest.update(f"{file.relative_to(path)}\0".encode())
        digest.update(file_digest(file).encode())
    return "sha256:" + digest.hexdigest()
