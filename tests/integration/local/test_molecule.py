"""`molecule test` of roles/nginx on the molecule-bake driver: create, converge, idempotence,
verify and destroy on a real bake instance, and nothing left on the host afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import REPO, bake_env

pytestmark = pytest.mark.usefixtures("base_rootfs")


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


def test_molecule_test_of_the_nginx_role(
    project: Path, state_dir: Path, tmp_path: Path, no_leaks: None
) -> None:
    shim = driver_entry_point(tmp_path / "entry-points")
    env = bake_env(
        PYTHONPATH=os.pathsep.join([str(REPO), str(shim), os.environ.get("PYTHONPATH", "")]),
        MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "molecule"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_FORCE_COLOR="0",
        NO_COLOR="1",
    )
    molecule = shutil.which("molecule", path=str(Path(sys.executable).parent)) or "molecule"
    started = time.monotonic()
    result = subprocess.run(
        [molecule, "test"], cwd=project / "roles/nginx", env=env, capture_output=True,
        text=True, timeout=600,
    )
    took = time.monotonic() - started
    out = result.stdout + result.stderr
    print(f"molecule test of roles/nginx took {took:.1f}s")
    assert result.returncode == 0, out[-6000:]
    for action in ("create", "converge", "idempotence", "verify", "destroy"):
        assert f"{action}: Executed: Successful" in out, action
    for check in ("Nginx is installed", "Nginx is enabled", "The nginx configuration is valid",
                  "Nginx serves the index page on the instance's address"):
        assert f"TASK [{check}]" in out, check
    # The instance was a journaled bake instance, and destroy removed it.
    journal = Journal(state_dir / "journal.sqlite")
    (record,) = journal.builds()
    assert record.builder_type == "instance" and record.name.endswith("-instance")
    assert record.state == "removed"
    assert journal.open_resources() == []
