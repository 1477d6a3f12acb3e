"""The main job end to end: real mmdebstrap base, nspawn container, SSH, ansible-runner, zstd."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
from pathlib import Path

import pytest

from bakeansible.builders.local.rootfs import tarball_cache_path
from bakeansible.pipeline.journal import Journal
from tests.conftest import REPO, bake_env
from tests.procs import bake_until

pytestmark = pytest.mark.usefixtures("base_rootfs")


def run_bake(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=bake_env()
    )


def open_journal_resources(state_dir: Path) -> list[str]:
    journal = Journal(state_dir / "journal.sqlite")
    return [f"{r.kind} {r.describe()}" for r in journal.open_resources()]


def test_bakes_nginx_image(project: Path, state_dir: Path, no_leaks: None) -> None:
    """The README's first command: site.yml, then verify.yml (next to it) on a fresh
    container of the new image; then ``bake test`` of that image."""
    shutil.copy(REPO / "playbooks/verify.yml", project / "playbooks/verify.yml")
    result = run_bake(
        [
            "--playbook", "playbooks/site.yml", "--image-name", "web",
            "-e", "nginx_listen_port=8080", "-e", "nginx_server_name=bake.test",
        ],
        project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "==> local: Creating temporary key pair..." in out
    assert "    local: TASK [nginx : Install nginx] changed: default" in out or (
        "    local: TASK [Install nginx] changed: default" in out
    )
    assert "==> Builds finished. The artifacts of successful builds are:" in out
    assert re.search(r"Package cache: \d+ served from the cache, \d+ fetched", out), out
    assert re.search(r"==> local: Wrote web\.tar\.zst: [\d.]+ MB in [\d.]+s", out), out

    image = project / "output" / "web.tar.zst"
    # The test phase: verify.yml (with the same -e: port 8080) on a container of the image.
    assert (
        "Note: testing the image with playbooks/verify.yml (next to the playbook; --no-test "
        "skips it)" in out
    )
    tested = out[out.index("==> local: Testing the new image on a fresh instance...") :]
    assert f"==> local: Preparing source image {image}..." in tested
    assert "TASK [Nginx serves the configured page] ok: default" in tested
    assert f"==> local: Tests passed on a fresh instance of {image}." in tested
    assert not tarball_cache_path(image).exists()  # the extracted image went with the test
    assert image.is_file()
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    assert (project / "output/web.tar.zst.sha256").read_text() == f"{digest}  web.tar.zst\n"
    assert f"sha256:{digest}" in out

    tar_path = project / "web.tar"
    subprocess.run(["zstd", "-d", "-q", str(image), "-o", str(tar_path)], check=True)
    with tarfile.open(tar_path) as tar:
        names = set(tar.getnames())
        assert "./usr/sbin/nginx" in names
        site = tar.extractfile("./etc/nginx/sites-available/bake.conf")
        assert site is not None
        text = site.read().decode()
        assert "listen 8080;" in text and "server_name bake.test;" in text
        link = tar.getmember("./etc/systemd/system/multi-user.target.wants/nginx.service")
        assert link.issym() and link.linkname.endswith("/nginx.service")
        enabled = tar.getmember("./etc/nginx/sites-enabled/bake.conf")
        assert enabled.issym()
        # Nothing of the temporary instance is baked in.
        assert "./root/.ssh/authorized_keys" not in names
        assert not any(n.startswith("./etc/ssh/ssh_host_") for n in names)
        assert "./etc/ssh/sshd_config.d/00-bake-listen.conf" not in names
        # apt went through the host's package cache, which leaves no trace in the image.
        assert "./etc/apt/apt.conf.d/00-bake-proxy" not in names
        assert not any(n.endswith(".deb") for n in names)
        assert not any(n.startswith("./proc/") and n != "./proc/" for n in names)

    manifest = json.loads((project / "output/manifest.json").read_text())
    (build,) = manifest["builds"]
    assert build["name"] == "local" and build["builder_type"] == "local"
    assert build["artifact_id"] == str(image)
    assert {"name": str(image), "size": image.stat().st_size} in build["files"]
    assert manifest["last_run_uuid"] == build["packer_run_uuid"]
    assert isinstance(build["build_time"], int)
    assert build["input_fingerprint"].startswith("sha256:")
    assert build["test_result"] == "passed"
    # The event log is kept; the key is not.
    assert list((project / "output/local-ansible/artifacts").rglob("job_events/*.json"))
    assert open_journal_resources(state_dir) == []
    builds = Journal(state_dir / "journal.sqlite").builds()
    assert sorted((b.name, b.state) for b in builds) == [
        ("local", "succeeded"),
        ("local-test", "succeeded"),
    ]

    # bake test of the tarball: checks run in order on a fresh instance; a failing one exits 1.
    checked = run_bake(
        [
            "test", "output/web.tar.zst", "--playbook", "playbooks/verify.yml",
            "-e", "nginx_listen_port=8080", "--command", "systemctl is-active nginx",
            "--command", "test -e /etc/not-baked", "-color=false",
        ],
        project,
    )
    out = checked.stdout + checked.stderr
    assert checked.returncode == 1, out
    assert "TASK [Nginx serves the configured page] ok: default" in out
    assert "==> test: Test 2/3: systemctl is-active nginx" in out
    assert "==> Test 'test -e /etc/not-baked' failed: Shell provisioner script (inline) " in out
    assert "Traceback" not in out
    assert open_journal_resources(state_dir) == []
    assert not tarball_cache_path(image).exists()
    check_cache_hit(project, state_dir, image)
    check_warm_rebuild(project, image, digest)


def check_cache_hit(project: Path, state_dir: Path, image: Path) -> None:
    """Baking the same inputs again reuses the image: no container, no tool run, no build in
    the journal; it is in the manifest as usual. ``bake plan`` names what changed."""
    args = ["--playbook", "playbooks/site.yml", "--image-name", "web",
            "-e", "nginx_listen_port=8080", "-e", "nginx_server_name=bake.test"]  # fmt: skip
    # Every tool a build would start, shadowed by one that leaves a mark and fails.
    shims = project.parent / "shims"
    shims.mkdir()
    marks = project.parent / "started"
    for tool in ("systemd-nspawn", "mmdebstrap", "tar", "zstd", "ip", "nft", "ssh",
                 "ansible-playbook", "mount"):  # fmt: skip
        (shims / tool).write_text(f"#!/bin/sh\necho {tool} >> {marks}\nexit 1\n")
        (shims / tool).chmod(0o755)
    env = bake_env(PATH=f"{shims}:{os.environ['PATH']}")
    builds_before = len(Journal(state_dir / "journal.sqlite").builds())
    again = subprocess.run(["bake", *args], cwd=project, capture_output=True, text=True,
                           timeout=120, env=env)  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"==> local: up to date: Image {image} (" in again.stdout
    assert "Build 'local' is up to date." in again.stdout
    assert "Starting container" not in again.stdout
    assert not marks.exists(), f"tools started on a cache hit: {marks.read_text()}"
    assert len(Journal(state_dir / "journal.sqlite").builds()) == builds_before
    first, second = json.loads((project / "output/manifest.json").read_text())["builds"]
    assert second["input_fingerprint"] == first["input_fingerprint"]
    assert second["checksum"] == first["checksum"] and second["artifact_id"] == str(image)
    assert "file:roles/nginx/templates/site.conf.j2" in first["input_parts"]

    (project / "roles/nginx/templates/site.conf.j2").write_text("# changed\n")
    plan = subprocess.run(["bake", "plan", "--json", *args], cwd=project, capture_output=True,
                          text=True, timeout=60, env=env)  # fmt: skip
    assert plan.returncode == 0, plan.stdout + plan.stderr
    (build,) = json.loads(plan.stdout)["builds"]
    assert build["status"] == "rebuild"
    assert [r["text"] for r in build["reasons"]] == [
        "file changed: roles/nginx/templates/site.conf.j2"
    ]
    assert not marks.exists()


def check_warm_rebuild(project: Path, image: Path, digest: str) -> None:
    """After the change ``check_cache_hit`` made, ``-force`` bakes site.yml again: the package
    cache serves every package and index it needs, nothing comes from the mirror."""
    log = project.parent / "rebuild.log"
    result = subprocess.run(
        ["bake", "--playbook", "playbooks/site.yml", "--image-name", "web", "-e",
         "nginx_listen_port=8080", "-e", "nginx_server_name=bake.test", "-force", "--no-test",
         "-color=false"],
        cwd=project, capture_output=True, text=True, timeout=600,
        env=bake_env(BAKE_LOG_PATH=str(log)),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    stats = re.search(r"Package cache: (\d+) served from the cache, (\d+) fetched \(([^)]*) from"
                      r".*", result.stdout)  # fmt: skip
    assert stats, result.stdout
    served, fetched, size = stats.groups()
    requests = [line for line in log.read_text().splitlines() if "package cache" in line]
    assert int(served) > 0 and int(fetched) == 0 and size == "0 B", (
        stats.group(0) + "\n" + "\n".join(requests)
    )
    assert hashlib.sha256(image.read_bytes()).hexdigest() != digest  # the new template is in


def test_failing_task_fails_build_and_leaves_nothing(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    bad = project / "playbooks/bad.yml"
    bad.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: This task fails on purpose\n"
        "      ansible.builtin.command: /bin/false\n"
    )
    result = run_bake(["--playbook", "playbooks/bad.yml"], project)
    assert result.returncode == 1
    assert "task 'This task fails on purpose' failed on host default" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (project / "output/bad.tar.zst").exists()
    assert not list((project / "output").glob("*.partial"))
    assert open_journal_resources(state_dir) == []
    assert not list((state_dir / "instances").glob("*/ssh/id_ed25519"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_provisioning_cleans_up(
    project: Path, state_dir: Path, no_leaks: None, signum: signal.Signals
) -> None:
    slow = project / "playbooks/slow.yml"
    slow.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Take a long time\n      ansible.builtin.command: sleep 300\n"
    )
    # The delay lets ansible-playbook start the long task.
    proc, lines = bake_until(
        ["--playbook", "playbooks/slow.yml"], project, bake_env(), "Provisioning with Ansible",
        signum, delay=3,
    )
    rest, _ = proc.communicate(timeout=120)
    out = "".join(lines) + rest
    assert proc.returncode == 1, out
    assert f"Cancelling build after receiving {signum.name}" in out
    assert "Stopping container because of cancellation" in out
    assert "Traceback" not in out
    assert open_journal_resources(state_dir) == []
