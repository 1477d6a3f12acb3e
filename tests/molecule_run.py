"""Running ``molecule test`` on this checkout's molecule-bake driver, as the tests do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO, bake_env


def driver_entry_point(where: Path) -> Path:
    """A dist-info declaring the checkout's ``molecule.driver`` entry points, so molecule finds
    this tree's driver even when the installed bake's metadata predates it (pluggy registers
    one plugin per name, so an installed copy does not count twice)."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]
    lines = [f"{name} = {target}" for name, target in declared["molecule.driver"].items()]
    dist = where / "bakeansible_molecule_driver-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bakeansible-molecule-driver\n"
                                   "Version: 0\n")
    (dist / "entry_points.txt").write_text("[molecule.driver]\n" + "\n".join(lines) + "\n")
    return where


def molecule_test(role_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``molecule test`` in ``role_dir``, with its ephemeral and Ansible home dirs in
    ``tmp_path`` and this checkout's driver."""
    shim = driver_entry_point(tmp_path / "entry-points")
    env = bake_env(
        PYTHONPATH=os.pathsep.join([str(REPO), str(shim), os.environ.get("PYTHONPATH", "")]),
        MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "molecule"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_FORCE_COLOR="0",
        NO_COLOR="1",
    )
    molecule = shutil.which("molecule", path=str(Path(sys.executable).parent)) or "molecule"
    return subprocess.run([molecule, "test"], cwd=role_dir, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
