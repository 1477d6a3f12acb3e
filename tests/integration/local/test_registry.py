"""The image registry through real bakes: a chained build from a channel, lineage, revoke with
cascade (the source is refused afterwards, before anything is created), and prune."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env

pytestmark = pytest.mark.usefixtures("base_rootfs")


def bake(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=bake_env()
    )


def git_commit_all(project: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com",
             *args], check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "project")
    return git("rev-parse", "HEAD")


def images(project: Path, *args: str) -> list[dict[str, object]]:
    result = bake(["images", "--json", *args], project)
    assert result.returncode == 0, result.stderr
    docs: list[dict[str, object]] = json.loads(result.stdout)
    return docs


def test_chained_build_from_a_channel(project: Path, state_dir: Path, no_leaks: None) -> None:
    """A source can be an image bake produced earlier, named by a channel: nginx is there
    before provisioning, and the registry knows the child's parent."""
    commit = git_commit_all(project)
    first = bake(["--playbook", "playbooks/site.yml", "--image-name", "base"], project)
    assert first.returncode == 0, first.stdout + first.stderr
    (base,) = images(project)
    base_file = project / "output/base.tar.zst"
    assert base["artifact"] == str(base_file)
    assert base["build_name"] == "local" and base["builder_type"] == "local"
    assert base["git_commit"] == commit
    assert base["parent_id"] is None
    assert base["size"] == base_file.stat().st_size
    assert (project / "output/base.tar.zst.sha256").read_text().split()[0] == base["checksum"]
    manifest = json.loads((project / "output/manifest.json").read_text())
    assert base["fingerprint"] == manifest["builds"][0]["input_fingerprint"]

    set_channel = bake(["channel", "set", "prod", "local", str(base["id"])], project)
    assert set_channel.returncode == 0, set_channel.stderr
    check = project / "playbooks/check.yml"
    check.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: nginx is already installed and running\n"
        "      ansible.builtin.command: systemctl is-active nginx\n      changed_when: false\n"
    )
    second = bake(
        ["--playbook", "playbooks/check.yml", "--source", "channel:prod/local",
         "--image-name", "child"],
        project,
    )  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"Preparing source image {base_file}" in second.stdout
    assert (project / "output/child.tar.zst").is_file()
    child = images(project)[0]
    assert child["artifact"] == str(project / "output/child.tar.zst")
    assert child["parent_id"] == base["id"]
    assert child["source"] == f"tarball:{base['checksum']}"
    show = bake(["images", "show", str(base["id"])], project)
    assert f"child:    {child['id']}" in show.stdout, show.stdout

    revoke = bake(["revoke", str(base["id"]), "--cascade", "--reason", "CVE-2026-1"], project)
    assert revoke.returncode == 0, revoke.stderr
    assert {d["id"] for d in images(project) if d["status"] == "revoked"} == {
        base["id"], child["id"]
    }
    builds_before = len(Journal(state_dir / "journal.sqlite").builds(100))
    for source in ("channel:prod/local", "output/base.tar.zst"):
        refused = bake(
            ["--playbook", "playbooks/check.yml", "--source", source, "--image-name", "again"],
            project,
        )
        assert refused.returncode == 1, refused.stdout
        assert "Error: " in refused.stderr and "revoked" in refused.stderr, refused.stderr
        assert "(CVE-2026-1)" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert "Creating" not in refused.stdout
    assert len(Journal(state_dir / "journal.sqlite").builds(100)) == builds_before
    assert not (project / "output/again.tar.zst").exists()

    dry = bake(["images", "prune", "--keep", "0", "--dry-run"], project)
    assert dry.returncode == 0, dry.stderr
    assert f"Would delete {child['id']} (local)" in dry.stdout
    assert str(base["id"]) not in dry.stdout  # the prod channel names it
    assert (project / "output/child.tar.zst").is_file()
    pruned = bake(["images", "prune", "--keep", "0"], project)
    assert pruned.returncode == 0, pruned.stderr
    assert not (project / "output/child.tar.zst").exists()
    assert not (project / "output/child.tar.zst.sha256").exists()
    assert base_file.is_file()
    assert [d["id"] for d in images(project)] == [base["id"]]
