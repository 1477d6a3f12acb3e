"""Every import is declared in pyproject.toml, and every runtime dependency is used.

The package's imports must be covered by ``dependencies`` (a wheel installed into a fresh venv
gets nothing else); the tests' and benchmarks' imports by ``dependencies`` plus the ``dev`` extra.
A runtime dependency nothing in the package imports is dead weight in every install.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"bakeansible", "tests", "bench"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}
    return runtime, dev


def _imports(*roots: str) -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere under ``roots``, with where."""
    found: dict[str, set[str]] = {}
    for root in roots:
        for path in (REPO / root).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in FIRST_PARTY or top == "__future__":
                        continue
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def _distributions(module: str) -> set[str]:
    dists = importlib.metadata.packages_distributions().get(module, [])
    assert dists, f"no installed distribution provides {module!r}"
    return {_name(d) for d in dists}


# Plugins bake ships for another tool are loaded by that tool only: their imports of it are
# covered by the extra of the same name (pip install 'bakeansible[molecule]').
HOSTED = {"molecule": "bakeansible/molecule_driver/"}


def test_every_package_import_is_a_runtime_dependency() -> None:
    runtime, _ = _declared()
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    undeclared = {
        module: sorted(where)
        for module, where in _imports("bakeansible").items()
        if not _distributions(module) & runtime
        and not (
            module in HOSTED
            and all(w.startswith(HOSTED[module]) for w in where)
            and _distributions(module) & {_name(r) for r in extras.get(module, [])}
        )
    }
    assert not undeclared, f"imported by the package, not in dependencies: {undeclared}"


def test_every_test_import_is_declared() -> None:
    runtime, dev = _declared()
    undeclared = {
        module: sorted(where)
        for module, where in _imports("tests", "bench").items()
        if not _distributions(module) & (runtime | dev)
    }
    assert not undeclared, f"imported by tests or bench, not in dependencies or dev: {undeclared}"


def test_every_runtime_dependency_is_imported_by_the_package() -> None:
    runtime, _ = _declared()
    used = set().union(*(_distributions(m) for m in _imports("bakeansible")))
    assert runtime - used == set(), "runtime dependencies the package never imports"
