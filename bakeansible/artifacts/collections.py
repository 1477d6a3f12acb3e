"""The Ansible collections a build uses, and what identifies the content of each.

A play names collections through fully qualified role and module names
(``community.general.ufw``, ``acme.web.nginx``) and its ``collections:`` keyword. Each is looked up
where Ansible looks: the provisioner's ``collections_path``, ``collections/`` next to the
playbook, ``ANSIBLE_COLLECTIONS_PATH``, the user's and the system's directories, and the
``ansible_collections`` Python package. A collection inside the project (vendored) counts with
all its files; one installed elsewhere by its version (``MANIFEST.json`` or ``galaxy.yml``), or by
its files when it has no version; one installed by ``galaxy_file`` at build time is covered by
that file, an input itself, and counts as ``absent``.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import yaml

#: Modules of ansible-core itself: not a collection on disk.
CORE_NAMESPACES = ("ansible.builtin", "ansible.legacy")
#: Directories of a collection Ansible never loads when it plays it.
COLLECTION_SKIP = ("tests", "docs", ".git", ".github", "changelogs")


def collection_of(fqcn: str) -> str | None:
    """``ns.coll`` of ``ns.coll.name`` (a role or module), or None for a short or core name."""
    parts = fqcn.split(".")
    if len(parts) < 3 or not all(parts[:2]):
        return None
    name = ".".join(parts[:2])
    return None if name in CORE_NAMESPACES else name


def search_roots(configured: list[Path], playbook: Path) -> list[Path]:
    """Directories holding ``ansible_collections/``, in Ansible's order of precedence."""
    roots = [*configured, playbook.parent / "collections"]
    env = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ.get(
        "ANSIBLE_COLLECTIONS_PATHS", ""
    )
    roots += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    roots += [Path.home() / ".ansible/collections", Path("/usr/share/ansible/collections")]
    try:
        spec = importlib.util.find_spec("ansible_collections")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        roots += [Path(p).parent for p in spec.submodule_search_locations]
    return list(dict.fromkeys(roots))


def find_collection(name: str, roots: list[Path]) -> Path | None:
    """The directory of collection ``ns.coll`` under the first root that has it."""
    namespace, _, collection = name.partition(".")
    for root in roots:
        for base in (root / "ansible_collections", root):
            path = base / namespace / collection
            if path.is_dir():
                return path.resolve()
    return None


def collection_version(path: Path) -> str | None:
    """The version an installed collection declares (MANIFEST.json, else galaxy.yml)."""
    try:
        info = json.loads((path / "MANIFEST.json").read_text()).get("collection_info") or {}
        if version := info.get("version"):
            return str(version)
    except (OSError, ValueError, AttributeError):
        pass
    try:
        galaxy = yaml.safe_load((path / "galaxy.yml").read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    version = galaxy.get("version") if isinstance(galaxy, dict) else None
    return str(version) if version else None
