"""The wheel carries all of bake: every file of the package, the bake_cvm plugin, the metadata."""

from __future__ import annotations

import zipfile
from email.parser import Parser
from pathlib import Path

import bakeansible
from bakeansible.builders.tencentcloud.inventory import PLUGIN_DIR

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "bakeansible/ansible_plugins/inventory/bake_cvm.py"


def test_the_wheel_holds_every_file_of_the_package(bake_wheel: Path) -> None:
    with zipfile.ZipFile(bake_wheel) as wheel:
        names = set(wheel.namelist())
        plugin = wheel.read(PLUGIN)
    tree = {
        str(path.relative_to(REPO))
        for path in (REPO / "bakeansible").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert tree - names == set(), "files of bakeansible/ missing from the wheel"
    assert {PLUGIN, "bakeansible/py.typed"} <= names
    assert plugin == (REPO / PLUGIN).read_bytes()


def test_the_wheel_metadata_declares_runtime_dependencies_only(bake_wheel: Path) -> None:
    with zipfile.ZipFile(bake_wheel) as wheel:
        (meta,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(wheel.read(meta).decode())
        entry_points = wheel.read(meta.replace("METADATA", "entry_points.txt")).decode()
    requires = metadata.get_all("Requires-Dist") or []
    runtime = {r.split(";")[0].split(">")[0].strip().lower() for r in requires if ";" not in r}
    assert {"ansible-core", "ansible-runner", "cryptography", "tencentcloud-sdk-python"} <= runtime
    assert "molecule" not in runtime and "requests" not in runtime
    assert "bake = bakeansible.cli.main:main" in entry_points
    assert "[molecule.driver]" in entry_points
    assert "molecule-bake = bakeansible.molecule_driver.driver:BakeDriver" in entry_points


def test_bake_uses_the_plugin_inside_the_package() -> None:
    assert PLUGIN_DIR.is_relative_to(Path(bakeansible.__file__).resolve().parent)
    assert (PLUGIN_DIR / "bake_cvm.py").is_file()


def test_the_repository_plugin_directory_is_the_packaged_plugin_not_a_copy() -> None:
    shim = REPO / "inventory_plugins/bake_cvm.py"
    assert shim.is_symlink(), "inventory_plugins/bake_cvm.py must not be a second copy"
    assert shim.resolve() == (REPO / PLUGIN).resolve()
