"""-on-error=abort keeps the failed build's container running for debugging, and the test
instance of a build whose test failed; bake cleanup removes it all."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from bakeansible.procinfo import process_alive
from tests.conftest import bake_env
from tests.hostcheck import network_links, network_namespaces

pytestmark = pytest.mark.usefixtures("base_rootfs")

FAILING = (
    "- hosts: all\n  gather_facts: false\n  tasks:\n"
    "    - name: Leave a clue, then fail\n"
    "      ansible.builtin.shell: echo 'state before the failure' > /root/clue && false\n"
)
NOOP = "- hosts: all\n  gather_facts: false\n  tasks: []\n"


def run_bake(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=bake_env()
    )


def port_open(address: str, port: int = 22) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def ssh(key: Path, address: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
         f"root@{address}", command],
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def sweep_if_failed(project: Path, state_dir: Path, no_leaks: None) -> Iterator[None]:
    """If the test fails half-way, don't leave its kept container running on the host."""
    yield
    if Journal(state_dir / "journal.sqlite").open_resources():
        run_bake(["cleanup"], project)


def test_abort_keeps_everything_until_bake_cleanup(
    project: Path, state_dir: Path, sweep_if_failed: None
) -> None:
    (project / "playbooks/fail.yml").write_text(FAILING)
    result = run_bake(["--playbook", "playbooks/fail.yml", "-on-error=abort", "-color=false"],
                      project)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert "task 'Leave a clue, then fail' failed on host default" in out
    assert (
        "==> local: Aborting without cleanup (-on-error=abort); these resources were kept:" in out
    )
    assert "Stopping container" not in out and "Deleting temporary key pair" not in out
    found = re.search(r"==> local: Remove them with: bake cleanup --build ([0-9a-f]{32})$", out,
                      re.MULTILINE)
    assert found, out
    build_id = found.group(1)
    kept_kinds = re.findall(r"^==> local:   (local\.\w+): .+ \(created\)$", out, re.MULTILINE)
    assert sorted(kept_kinds) == sorted(
        ["local.container", "local.mount", "local.file", "local.directory",
         "local.directory",  # the package cache's partial downloads of the build
         "local.nft", "local.link", "local.netns", "local.sysctl"]
    ), out

    journal = Journal(state_dir / "journal.sqlite")
    record = journal.build(build_id)
    assert record is not None and record.state == "aborted" and not record.alive
    held = {r.kind: r for r in journal.open_resources(build_id)}
    container = held["local.container"].data
    address = held["local.link"].data["address"]
    key = Path(held["local.file"].data["path"])
    assert address is not None and key.is_file()

    # The container outlives bake: systemd-nspawn and the container's systemd still run, and
    # its sshd answers on the instance's own address, with the state the failure left.
    assert process_alive(int(container["nspawn_pid"]), container["nspawn_start"])
    assert process_alive(int(container["init_pid"]), container["init_start"])
    assert port_open(address)
    login = ssh(key, address, "cat /root/clue && systemctl is-system-running")
    assert login.returncode in (0, 1), login.stderr  # 1: "degraded" is fine for debugging
    assert login.stdout.splitlines()[0] == "state before the failure"

    # Another bake run's automatic sweep of dead builds leaves the kept build alone. That bake's
    # test (verify.yml next to its playbook) fails, and -on-error=abort keeps the test instance.
    (project / "playbooks/noop.yml").write_text(NOOP)
    (project / "playbooks/verify.yml").write_text(FAILING)
    other = run_bake(["--playbook", "playbooks/noop.yml", "-on-error=abort", "-color=false"],
                     project)
    assert other.returncode == 1, other.stdout + other.stderr
    assert "left by earlier builds" not in other.stdout
    assert process_alive(int(container["init_pid"]), container["init_start"])
    assert port_open(address)
    assert len(journal.open_resources(build_id)) == 9  # 8 before the package cache
    check_kept_test_instance(project, journal, other.stdout)

    listed = run_bake(["cleanup", "--dry-run"], project)
    assert listed.returncode == 0, listed.stderr
    assert f"Would remove local.container {container['machine']}" in listed.stdout
    assert port_open(address), "a dry run removes nothing"

    cleaned = run_bake(["cleanup", "--build", build_id], project)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert f"Removed local.container {container['machine']}" in cleaned.stdout
    assert journal.open_resources() == []
    assert not process_alive(int(container["nspawn_pid"]), container["nspawn_start"])
    # Its network is gone (a port check would not tell: the address is now routed upstream).
    assert held["local.netns"].data["name"] not in network_namespaces()
    assert held["local.link"].data["name"] not in network_links()
    assert not key.exists()
    assert not (state_dir / "instances" / build_id).exists()
    again = run_bake(["cleanup"], project)
    assert again.returncode == 0 and "Nothing to clean up." in again.stdout


def check_kept_test_instance(project: Path, journal: Journal, out: str) -> None:
    """A failed test with -on-error=abort: the test instance keeps running with the state the
    failure left, journaled under its own build id; the report says how to log in and how to
    remove it; `bake cleanup --build` of that id removes it, then of the build its own."""
    assert "Test 'verify.yml' failed; the image " in out, out
    assert "noop.tar.zst is kept with the build (-on-error=abort)." in out, out
    assert "Stopping container" not in out and "Deleting temporary key pair" not in out
    removes = re.findall(r"^==> local: Remove them with: bake cleanup --build ([0-9a-f]{32})$",
                         out, re.MULTILINE)  # fmt: skip
    logins = re.findall(r"^==> local: Log in to inspect it: (ssh .+)$", out, re.MULTILINE)
    assert len(removes) == 2 and len(logins) == 1, out  # the build's container is off
    test_id, build_id = removes
    test_build, build = journal.build(test_id), journal.build(build_id)
    assert test_build is not None and test_build.name == "local-test", out
    assert test_build.state == "aborted" and build is not None and build.state == "aborted"
    held = {r.kind: r for r in journal.open_resources(test_id)}
    container = held["local.container"].data
    assert process_alive(int(container["init_pid"]), container["init_start"])
    *ssh_options, target = logins[0].split()
    login = subprocess.run(
        [*ssh_options, "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", target, "cat /root/clue"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert login.returncode == 0 and login.stdout == "state before the failure\n", login.stderr

    cleaned = run_bake(["cleanup", "--build", test_id], project)
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert f"Removed local.container {container['machine']}" in cleaned.stdout
    assert journal.open_resources(test_id) == []
    assert not process_alive(int(container["nspawn_pid"]), container["nspawn_start"])
    assert held["local.netns"].data["name"] not in network_namespaces()
    assert held["local.link"].data["name"] not in network_links()
    assert run_bake(["cleanup", "--build", build_id], project).returncode == 0
    assert journal.open_resources(build_id) == []
    assert not (project / "output/noop.tar.zst").exists()  # kept with the build until now
