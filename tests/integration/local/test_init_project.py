"""``bake init`` then what its README promises, in a temporary directory: ``bake build`` bakes
the image (the playbook twice: idempotence), tests it on a fresh container of the new image and
writes the manifest; ``molecule test`` of the generated role passes on the molecule-bake driver;
nothing is left on the host."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env
from tests.molecule_run import molecule_test


@pytest.mark.usefixtures("base_rootfs")
def test_init_bakes_tests_and_passes_molecule(
    tmp_path: Path, state_dir: Path, no_leaks: None
) -> None:
    project = tmp_path / "demo"
    init = subprocess.run(["bake", "init", str(project)], capture_output=True, text=True,
                          env=bake_env(), timeout=60)  # fmt: skip
    assert init.returncode == 0, init.stderr

    built = subprocess.run(["bake", "build"], cwd=project, capture_output=True, text=True,
                           env=bake_env(), timeout=600)  # fmt: skip
    out = built.stdout + built.stderr
    assert built.returncode == 0, out
    assert "Idempotence check passed: the second run changed nothing." in out
    assert "TASK [The message of the day is the baked one] ok: default" in out
    assert (project / "output/demo.tar.zst").is_file()
    assert '"test_result": "passed"' in (project / "output/manifest.json").read_text()

    tested = molecule_test(project / "roles/welcome", tmp_path)
    out = tested.stdout + tested.stderr
    assert tested.returncode == 0, out[-6000:]
    for action in ("create", "converge", "idempotence", "verify", "destroy"):
        assert f"{action}: Executed: Successful" in out, action
    assert "TASK [The message of the day is the role's]" in out
    assert Journal(state_dir / "journal.sqlite").open_resources() == []
