"""`molecule test` of roles/nginx on the molecule-bake driver: create, converge, idempotence,
verify and destroy on a real bake instance, and nothing left on the host afterwards."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.molecule_run import molecule_test

pytestmark = pytest.mark.usefixtures("base_rootfs")


def test_molecule_test_of_the_nginx_role(
    project: Path, state_dir: Path, tmp_path: Path, no_leaks: None
) -> None:
    started = time.monotonic()
    result = molecule_test(project / "roles/nginx", tmp_path)
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
