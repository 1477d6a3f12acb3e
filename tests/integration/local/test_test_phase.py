"""Failed tests of the test phase: the build fails, and on_test_failure deletes or keeps the
image and says which; the fresh instances and the extracted images leave nothing behind.

(The passing path, site.yml with verify.yml, and ``bake test`` are in test_local_build.py.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bakeansible.paths import cache_dir
from bakeansible.pipeline.journal import Journal
from tests.conftest import REPO, bake_env

pytestmark = pytest.mark.usefixtures("base_rootfs")

TEMPLATE = """\
builds:
  - name: gone
    type: local
    image_name: gone
  - name: kept
    type: local
    image_name: kept
    tests:
      - type: shell
        name: never baked
        inline: ["test -e /etc/not-baked"]
        on_test_failure: keep
provisioners:
  - type: shell
    inline: ["echo baked > /etc/baked", "touch /run/build-instance"]
tests:
  - type: shell
    name: baked, fresh
    inline: ["grep -qx baked /etc/baked", "test ! -e /run/build-instance"]
  - type: ansible
    playbook_file: playbooks/verify.yml
    only: [gone]
"""


def extracted_images() -> set[str]:
    return {p.name for p in (cache_dir() / "rootfs").glob("tar-*")}


def test_failed_tests_delete_or_keep_the_image(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    shutil.copy(REPO / "playbooks/verify.yml", project / "playbooks/verify.yml")
    (project / "bake.yml").write_text(TEMPLATE)
    cached = extracted_images()
    result = subprocess.run(
        ["bake", "build", "-color=false"], cwd=project, capture_output=True, text=True,
        timeout=600, env=bake_env(),
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    gone, kept = project / "output/gone.tar.zst", project / "output/kept.tar.zst"

    # Both ran the common test on a fresh instance of their own image first, and it passed.
    for name in ("gone", "kept"):
        assert f"==> {name}: Test 1/2: baked, fresh" in out
        assert f"==> {name}: Test 2/2: " in out
    # gone: verify.yml fails (no nginx in this image); the image is deleted, and it says so.
    assert "TASK [Nginx is installed] FAILED: default: the nginx package is not installed" in out
    assert (
        f"Test 'ansible playbooks/verify.yml' failed; the image {gone} is deleted "
        "(on_test_failure: delete)." in out
    )
    assert f"Deleting image {gone} because the build did not succeed..." in out
    assert not gone.exists() and not gone.with_name("gone.tar.zst.sha256").exists()
    # kept: its own test fails; the image stays, and it says so.
    assert (
        f"Keeping image {kept} because test 'never baked' failed and its on_test_failure "
        "is keep." in out
    )
    assert kept.is_file() and kept.with_name("kept.tar.zst.sha256").is_file()
    summary = out[out.index("==> Some builds didn't complete successfully") :]
    assert "--> gone: Test 'ansible playbooks/verify.yml' failed on a fresh instance" in summary
    assert "--> kept: Test 'never baked' failed on a fresh instance of the new image" in summary

    # Nothing leaked: journal, extracted images (no_leaks: containers, mounts, instance dirs).
    journal = Journal(state_dir / "journal.sqlite")
    assert journal.open_resources() == []
    states = sorted((b.name, b.state) for b in journal.builds())
    assert states == [
        ("gone", "failed"), ("gone-test", "failed"), ("kept", "failed"), ("kept-test", "failed")
    ]  # fmt: skip
    assert extracted_images() == cached
