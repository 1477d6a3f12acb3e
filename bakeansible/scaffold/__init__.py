"""``bake init``: a new project from the templates in ``project/`` (package data).

The templates are the files as written, with ``__PROJECT__`` standing for the project's name and
a ``dot.`` prefix for names that start with a dot (so the wheel's package data carries them).
Nothing is written when any target file exists already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from bakeansible.errors import BakeError

PLACEHOLDER = "__PROJECT__"


@dataclass(frozen=True)
class ScaffoldFile:
    """One file of the new project: its path relative to the project and its text."""

    path: Path
    text: str


def project_name(directory: Path) -> str:
    """A name for images and roles from the directory's name: lower case, ``[a-z0-9-]``."""
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-")
    return name or "image"


def _walk(node: Traversable, prefix: Path) -> list[tuple[Path, Traversable]]:
    found = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        name = "." + child.name[4:] if child.name.startswith("dot.") else child.name
        if child.is_dir():
            if child.name != "__pycache__":
                found += _walk(child, prefix / name)
        else:
            found.append((prefix / name, child))
    return found


def render_project(name: str) -> list[ScaffoldFile]:
    """Every file of a new project called ``name``."""
    root = files("bakeansible.scaffold") / "project"
    return [
        ScaffoldFile(path, source.read_text().replace(PLACEHOLDER, name))
        for path, source in _walk(root, Path())
    ]


def write_project(directory: Path, name: str | None = None) -> list[Path]:
    """Write a new project into ``directory`` (created if missing); return the files written.

    Raises BakeError, having written nothing, when any of the files exists already."""
    if directory.exists() and not directory.is_dir():
        raise BakeError(f"{directory} exists and is not a directory.")
    rendered = render_project(name or project_name(directory))
    existing = [f.path for f in rendered if (directory / f.path).exists()]
    if existing:
        listed = ", ".join(str(p) for p in existing)
        raise BakeError(
            f"bake init would overwrite {len(existing)} file(s) in {directory}: {listed}; "
            "nothing was written.",
            hint="Run bake init in an empty or new directory, or move those files away.",
        )
    written = []
    for item in rendered:
        target = directory / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.text)
        written.append(target)
    return written
