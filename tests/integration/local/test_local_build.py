"""The main job end to end: real mmdebstrap base, nspawn container, SSH, ansible-runner, zstd."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import tarfile
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env
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
    # The event log is kept; the key is not.
    assert list((project / "output/local-ansible/artifacts").rglob("job_events/*.json"))
    assert open_journal_resources(state_dir) == []


def test_chained_build_from_baked_image(project: Path, state_dir: Path, no_leaks: None) -> None:
    """A source can be an image bake produced earlier: nginx is there before provisioning."""
    first = run_bake(["--playbook", "playbooks/site.yml", "--image-name", "base"], project)
    assert first.returncode == 0, first.stdout + first.stderr
    check = project / "playbooks/check.yml"
    check.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: nginx is already installed and running\n"
        "      ansible.builtin.command: systemctl is-active nginx\n      changed_when: false\n"
    )
    second = run_bake(
        ["--playbook", "playbooks/check.yml", "--source", "output/base.tar.zst",
         "--image-name", "child"],
        project,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert (project / "output/child.tar.zst").is_file()


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
