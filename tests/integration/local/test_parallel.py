"""Two real local builds from one bake.yml, in parallel: both bake, or one fails (--fail-fast)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env

pytestmark = pytest.mark.usefixtures("base_rootfs")

MARK_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Write the marker
      ansible.builtin.copy:
        dest: /etc/bake-marker
        content: "{{ marker }}\\n"
"""

TWO_BUILDS = """\
builds:
  - name: alpha
    type: local
    image_name: alpha
    provisioners:
      - type: shell
        inline:
          - echo "alpha from $PACKER_BUILD_NAME" > /etc/bake-marker
  - name: beta
    type: local
    image_name: beta
    provisioners:
      - type: ansible
        playbook_file: playbooks/mark.yml
        extra_vars:
          marker: beta via ansible
"""

ONE_FAILS = """\
builds:
  - name: broken
    type: local
    image_name: broken
    provisioners:
      - type: shell
        inline:
          - sleep {delay}
          - echo "giving up" >&2
          - exit 3
  - name: other
    type: local
    image_name: other
    provisioners:
      - type: shell
        inline:
          - echo "other build working"
          - sleep {other_sleep}
"""


def run_bake(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=bake_env()
    )


def file_in_image(image: Path, member: str) -> str:
    return subprocess.run(
        ["tar", "-I", "zstd", "-xOf", str(image), member],
        capture_output=True, text=True, check=True,
    ).stdout


def journal_at(state_dir: Path) -> Journal:
    return Journal(state_dir / "journal.sqlite")


def test_two_builds_in_parallel(project: Path, state_dir: Path, no_leaks: None) -> None:
    (project / "playbooks/mark.yml").write_text(MARK_PLAYBOOK)
    (project / "bake.yml").write_text(TWO_BUILDS)
    result = run_bake(["build", "-color=false"], project)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr

    lines = out.splitlines()
    assert "alpha: output will be in this color." in lines
    assert "beta: output will be in this color." in lines
    assert "    beta: TASK [Write the marker] changed: default" in lines
    # Both containers were up at once: each started before either was powered off.
    starts = [i for i, line in enumerate(lines) if line.endswith(": Starting container...")]
    stops = [i for i, line in enumerate(lines) if line.endswith(": Powering off the container...")]
    assert len(starts) == 2 and len(stops) == 2
    assert max(starts) < min(stops), out
    assert {line.split(":")[0] for line in lines if line.startswith("==> ")} >= {
        "==> alpha", "==> beta", "==> Builds finished. The artifacts of successful builds are"
    }

    output = project / "output"
    alpha, beta = output / "alpha.tar.zst", output / "beta.tar.zst"
    assert file_in_image(alpha, "./etc/bake-marker") == "alpha from alpha\n"
    assert file_in_image(beta, "./etc/bake-marker") == "beta via ansible\n"
    assert f"--> alpha: Image {alpha}" in out and f"--> beta: Image {beta}" in out

    manifest = json.loads((output / "manifest.json").read_text())
    entries = {b["name"]: b for b in manifest["builds"]}
    assert sorted(entries) == ["alpha", "beta"]
    assert entries["alpha"]["artifact_id"] == str(alpha)
    assert entries["beta"]["artifact_id"] == str(beta)
    assert {b["packer_run_uuid"] for b in manifest["builds"]} == {manifest["last_run_uuid"]}

    journal = journal_at(state_dir)
    assert journal.open_resources() == []
    assert sorted((r.name, r.state) for r in journal.builds()) == [
        ("alpha", "succeeded"), ("beta", "succeeded")
    ]


def test_fail_fast_cancels_the_other_build(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    (project / "bake.yml").write_text(ONE_FAILS.format(delay=2, other_sleep=300))
    started = time.monotonic()
    result = run_bake(["build", "-color=false", "--fail-fast"], project, timeout=200)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert time.monotonic() - started < 120, "the other build was cancelled, not waited for"
    assert "    broken: giving up" in out
    assert "Build 'other' was cancelled" in out
    assert "==> Some builds didn't complete successfully and had errors:" in out
    assert "--> broken: Shell provisioner script (inline) exited with status 3." in out
    assert "--> other: Build was cancelled" in out
    assert "Builds finished. The artifacts" not in out
    assert "Traceback" not in out + result.stderr
    if "==> other: Starting container..." in out:
        assert "==> other: Stopping container because of cancellation..." in out

    output = project / "output"
    assert not output.exists() or not list(output.glob("*.tar.zst*"))
    journal = journal_at(state_dir)
    assert journal.open_resources() == []
    assert sorted((r.name, r.state) for r in journal.builds()) == [
        ("broken", "failed"), ("other", "cancelled")
    ]


def test_without_fail_fast_the_other_build_finishes(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    (project / "bake.yml").write_text(ONE_FAILS.format(delay=0, other_sleep=3))
    result = run_bake(["build", "-color=false"], project)
    out = result.stdout
    assert result.returncode == 1, "exit code 0 only when every build succeeded"
    assert "==> broken: Stopping container because of error..." in out
    assert "--> broken: Shell provisioner script (inline) exited with status 3." in out
    other = project / "output/other.tar.zst"
    assert f"--> other: Image {other}" in out
    assert other.is_file() and not (project / "output/broken.tar.zst").exists()
    manifest = json.loads((project / "output/manifest.json").read_text())
    assert [b["name"] for b in manifest["builds"]] == ["other"]
    assert journal_at(state_dir).open_resources() == []
