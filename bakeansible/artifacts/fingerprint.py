"""The input fingerprint of a build: one sha256 over everything that decides what it bakes.

Config (builder and provisioner options), the playbooks, roles, scripts and variable files the
provisioners read, and the identity of the source image. Recorded in the manifest so that a
later run can tell that a bake's inputs did not change (the basis of incremental bakes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bakeansible.artifacts.checksum import file_digest
from bakeansible.config.model import BuildSpec

# Files under these directories next to a playbook change what Ansible does.
ANSIBLE_DIRS = ("roles", "group_vars", "host_vars", "library", "filter_plugins", "templates")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _files(paths: Iterable[Path]) -> list[Path]:
    found: set[Path] = set()
    for path in paths:
        if path.is_file():
            found.add(path.resolve())
        elif path.is_dir():
            found.update(p.resolve() for p in path.rglob("*") if p.is_file())
    return sorted(found)


def input_files(spec: BuildSpec, project_dir: Path) -> list[Path]:
    """The files the build's provisioners read."""
    candidates: list[Path] = []
    for prov in spec.provisioners:
        cfg = prov.config
        for name in ("playbook_file", "script", "galaxy_file"):
            value = getattr(cfg, name, "")
            if value:
                candidates.append(project_dir / value)
        candidates += [project_dir / s for s in getattr(cfg, "scripts", ())]
        playbook = getattr(cfg, "playbook_file", "")
        if playbook:
            base = (project_dir / playbook).parent
            for root in {base, base.parent, project_dir}:
                candidates += [root / d for d in ANSIBLE_DIRS]
        for extra in str(getattr(cfg, "roles_path", "") or "").split(":"):
            if extra:
                candidates.append(project_dir / extra)
    return _files(candidates)


def build_fingerprint(spec: BuildSpec, project_dir: Path, source_identity: str) -> str:
    """sha256 over the build's config, its provisioners' files and its source's identity."""
    digest = hashlib.sha256()
    doc = {
        "type": spec.type,
        "config": _jsonable(spec.config),
        "provisioners": [_jsonable(p) for p in spec.provisioners],
        "source": source_identity,
    }
    digest.update(json.dumps(doc, sort_keys=True).encode())
    for path in input_files(spec, project_dir):
        digest.update(b"\0" + str(path.relative_to(path.anchor)).encode() + b"\0")
        digest.update(file_digest(path).encode())
    return "sha256:" + digest.hexdigest()
