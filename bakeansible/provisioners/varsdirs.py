"""``group_vars/`` and ``host_vars/`` of the project, beside the inventory bake writes.

Ansible reads these directories beside the playbook (which it does by itself) and beside each
inventory source. bake's inventory is written into the build's run directory, so the project's
own directories are linked there: those beside the inventory that the project's ansible.cfg
names, else those beside bake.yml. They then apply to the static inventory of a local build and
to the ``bake_cvm`` dynamic one of a Tencent build alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bakeansible.provisioners.settings import ProjectSettings

NAMES = ("group_vars", "host_vars")


def vars_dir_sources(settings: ProjectSettings, project_dir: Path) -> list[Path]:
    """Where to look, first wins: the ansible.cfg ``inventory`` locations, then the project."""
    found: list[Path] = []
    value = settings.get("defaults", "inventory")
    if value and settings.config_file is not None:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            path = Path(part).expanduser()
            path = path if path.is_absolute() else settings.config_file.parent / path
            found.append(path if path.is_dir() else path.parent)
    found.append(project_dir)
    return list(dict.fromkeys(p.resolve() for p in found))


def link_vars_dirs(directory: Path, sources: Sequence[Path]) -> list[Path]:
    """Link the first ``group_vars``/``host_vars`` of ``sources`` into ``directory``."""
    unlink_vars_dirs(directory)
    links = []
    for name in NAMES:
        for source in sources:
            if (source / name).is_dir() and source.resolve() != directory.resolve():
                link = directory / name
                link.symlink_to(source / name, target_is_directory=True)
                links.append(link)
                break
    return links


def unlink_vars_dirs(directory: Path) -> None:
    """Remove the links (never the user's directories: only symlinks are touched)."""
    for name in NAMES:
        link = directory / name
        if link.is_symlink():
            link.unlink()
