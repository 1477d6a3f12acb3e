"""kill -9 of bake at each step of a local build, then `bake cleanup`: nothing is left."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bakeansible.pipeline.host import build_processes
from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env
from tests.hostcheck import bake_host_processes, network_links, network_namespaces, nft_tables
from tests.procs import bake_until

pytestmark = pytest.mark.usefixtures("base_rootfs")

STEP_HEADERS = [
    "Creating the container's network...",
    "Creating temporary key pair...",
    "Creating copy-on-write root filesystem...",
    "Starting container...",
    "Waiting for SSH to become available...",
    "Waiting for the container to finish booting...",
    "Provisioning with Ansible",
    "Powering off the container...",
    "Creating image",
]


def bake_and_signal(
    project: Path, header: str, signum: signal.Signals
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start a quick bake and send ``signum`` when the step ``header`` starts."""
    (project / "playbooks/quick.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Write a file\n      ansible.builtin.copy:\n"
        "        dest: /etc/baked\n        content: yes\n"
    )
    return bake_until(
        ["--playbook", "playbooks/quick.yml", "-color=false"], project, bake_env(), header, signum
    )


@pytest.mark.parametrize("header", STEP_HEADERS)
def test_kill9_then_cleanup_leaves_nothing(
    project: Path, state_dir: Path, no_leaks: None, header: str
) -> None:
    proc, seen = bake_and_signal(project, header, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    time.sleep(0.5)

    journal = Journal(state_dir / "journal.sqlite")
    (record,) = journal.builds()
    assert record.state == "running" and not record.alive
    # The build's network outlives bake until `bake cleanup`.
    held = {r.kind: r.data["name"] for r in journal.open_resources()
            if r.kind in ("local.netns", "local.link", "local.nft")}
    if header != STEP_HEADERS[0]:
        assert held["local.netns"] in network_namespaces()
        assert held["local.link"] in network_links()
        assert f"ip {held['local.nft']}" in nft_tables()

    listed = subprocess.run(
        ["bake", "cleanup", "--dry-run"], cwd=project, env=bake_env(),
        capture_output=True, text=True, timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    result = subprocess.run(
        ["bake", "cleanup"], cwd=project, env=bake_env(), capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal.open_resources() == []
    assert journal.builds()[0].state == "crashed"
    assert held.get("local.netns") not in network_namespaces()
    assert held.get("local.link") not in network_links()
    assert f"ip {held.get('local.nft')}" not in nft_tables()
    # The image of a build that never finished is not kept.
    assert not list((project / "output").glob("*.tar.zst*"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("header", STEP_HEADERS)
def test_signal_at_each_step_cleans_up_without_help(
    project: Path, state_dir: Path, no_leaks: None, header: str, signum: signal.Signals
) -> None:
    """SIGINT/SIGTERM at the start of every step: bake itself removes everything."""
    proc, seen = bake_and_signal(project, header, signum)
    rest, _ = proc.communicate(timeout=120)
    out = "".join(seen) + rest
    assert proc.returncode == 1, out
    assert "Traceback" not in out
    journal = Journal(state_dir / "journal.sqlite")
    assert journal.open_resources() == [], out
    assert journal.builds()[0].state == "cancelled", out
    assert not list((project / "output").glob("*.tar.zst*"))


def test_max_build_time_cancels_and_cleans_up(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    (project / "playbooks/slow.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Take too long\n      ansible.builtin.command: sleep 300\n"
    )
    (project / "bake.yml").write_text(
        "builds:\n  - name: slow\n    type: local\n    image_name: slow\n"
        "    max_build_time: 8\n"
    )
    result = subprocess.run(
        ["bake", "--playbook", "playbooks/slow.yml", "-color=false"], cwd=project,
        env=bake_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stdout
    assert "exceeded max_build_time (8s)" in result.stdout
    assert Journal(state_dir / "journal.sqlite").open_resources() == []


def test_two_bakes_share_the_journal(project: Path, state_dir: Path, no_leaks: None) -> None:
    """Two bake processes at once: one is killed, `bake cleanup` leaves the other alone."""
    (project / "playbooks/slow.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Wait a little\n      ansible.builtin.command: sleep 15\n"
    )

    def start(name: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["bake", "--playbook", "playbooks/slow.yml", "--image-name", name, "-color=false"],
            cwd=project, env=bake_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )

    victim, survivor = start("victim"), start("survivor")
    for proc in (victim, survivor):
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Provisioning with Ansible" in line:
                break
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    cleanup = subprocess.run(
        ["bake", "cleanup"], cwd=project, env=bake_env(), capture_output=True, text=True,
        timeout=120,
    )
    assert cleanup.returncode == 0, cleanup.stderr
    assert "still running" in cleanup.stdout
    rest, _ = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, rest
    assert (project / "output/survivor.tar.zst").is_file()
    journal = Journal(state_dir / "journal.sqlite")
    assert journal.open_resources() == []
    states = sorted(b.state for b in journal.builds())
    assert states == ["crashed", "succeeded"]


def test_kill9_while_ansible_runs_then_cleanup_ends_its_processes(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    """ansible-playbook, its workers and the ssh ControlMaster (daemonized, in a session of its
    own) outlive a bake killed with -9; `bake cleanup` ends them. The control sockets live in
    the build's directory in $TMPDIR, which goes too."""
    (project / "playbooks/slow.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Take long\n      ansible.builtin.command: sleep 300\n"
    )
    tmpdir = Path(tempfile.mkdtemp(prefix="bt-", dir="/tmp"))
    try:
        proc, seen = bake_until(
            ["--playbook", "playbooks/slow.yml", "-color=false"], project,
            bake_env(TMPDIR=str(tmpdir)), "PLAY [", None,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            names = {comm for _, comm in bake_host_processes()}
            if {"ssh", "ansible-playboo"} <= names and list(tmpdir.glob("bake-*/cp/*")):
                break
            time.sleep(0.2)
        (workdir,) = tmpdir.glob("bake-*")
        assert [p.is_socket() for p in workdir.glob("cp/*")] == [True], "one ControlMaster"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        (record,) = Journal(state_dir / "journal.sqlite").builds()
        orphans = build_processes(record.build_id)
        names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in orphans}
        assert {"ssh", "ansible-playboo"} <= names, f"bake's death alone ends them: {names}"

        result = subprocess.run(
            ["bake", "cleanup"], cwd=project, env=bake_env(), capture_output=True, text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Removed host.process" in result.stdout, result.stdout
        assert build_processes(record.build_id) == []
        assert not any(comm in ("ssh", "ansible-playboo") for _, comm in bake_host_processes())
        assert list(tmpdir.iterdir()) == [], "the build's temporary directory is removed"
        assert Journal(state_dir / "journal.sqlite").open_resources() == []
    finally:
        subprocess.run(["rm", "-rf", str(tmpdir)], check=False)
