"""`bake instance`: up, list, ssh, down on real containers; held instances survive `bake
cleanup`; kill -9 during `up` leaves nothing after `bake cleanup`; bad input is refused."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from tests.conftest import bake_env
from tests.hostcheck import network_namespaces
from tests.procs import bake_until

pytestmark = pytest.mark.usefixtures("base_rootfs")


def bake(*argv: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bake", *argv], cwd=cwd, env=bake_env(), capture_output=True, text=True,
        timeout=timeout,
    )


# Appends to a marker file when it is stopped: only an orderly shutdown stops it.
MARKER_UNIT = """\
[Unit]
Description=bake test: records an orderly stop
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sh -c 'echo stopped in order >> /var/tmp/bake-marker'
"""


def watch_orderly_stop(
    key: Path, name: str, tmp_path: Path, run: Callable[..., subprocess.CompletedProcess[str]]
) -> Path:
    """Start MARKER_UNIT in instance ``name`` (whose key file is ``key``); return a hard link
    to its marker file in the overlay's upper layer, which outlives the instance's removal."""
    workdir = key.parent.parent
    (workdir / "merged/etc/systemd/system/bake-marker.service").write_text(MARKER_UNIT)
    (workdir / "merged/var/tmp/bake-marker").write_text("")
    started = run("instance", "ssh", name, "--", "systemctl", "daemon-reload", "&&",
                  "systemctl", "start", "bake-marker.service")  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    marker = tmp_path / f"{name}-marker"
    marker.hardlink_to(workdir / "upper/var/tmp/bake-marker")
    return marker


def test_up_list_ssh_down_and_cleanup_keeps_a_held_instance(
    project: Path, state_dir: Path, tmp_path: Path, no_leaks: None
) -> None:
    up = bake("instance", "up", "--name", "web", "--json", cwd=project)
    assert up.returncode == 0, up.stdout + up.stderr
    info = json.loads(up.stdout)
    assert info["name"] == "web" and info["source"] == "debian:bookworm"
    assert info["user"] == "root" and info["port"] == 22
    key = Path(info["key_file"])
    assert key.is_relative_to(state_dir) and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "Starting container..." in up.stderr  # progress on stderr, JSON alone on stdout

    # The instance outlives `up`: list it, log in, run a command.
    listed = json.loads(bake("instance", "list", "--json", cwd=project).stdout)
    assert [(i["name"], i["address"], i["state"]) for i in listed] == [
        ("web", info["address"], "running")
    ]
    ssh = bake("instance", "ssh", "web", "--", "systemctl", "is-system-running", cwd=project)
    assert ssh.returncode == 0 and ssh.stdout.strip() in ("running", "degraded"), ssh.stderr
    hostname = bake("instance", "ssh", "web", "--", "hostname", cwd=project).stdout.strip()

    # bake cleanup (and its dry run) keep a held instance, and say so.
    journal = Journal(state_dir / "journal.sqlite")
    held = journal.open_resources()
    assert {"local.container", "local.netns", "local.mount", "local.file"} <= {
        r.kind for r in held
    }
    for argv in (["cleanup", "--dry-run"], ["cleanup"]):
        result = bake(*argv, cwd=project)
        assert result.returncode == 0, result.stderr
        assert "Kept instance web" in result.stdout and "Would remove" not in result.stdout
    assert journal.open_resources() == held
    assert "held instance" in bake("builds", cwd=project).stdout
    again = bake("instance", "ssh", "web", "--", "hostname", cwd=project)
    assert again.returncode == 0 and again.stdout.strip() == hostname

    # A second instance of the same name is refused, creating nothing.
    dup = bake("instance", "up", "--name", "web", cwd=project)
    assert dup.returncode == 1 and "An instance named 'web' already exists" in dup.stderr
    assert "Traceback" not in dup.stderr
    assert journal.open_resources() == held and len(journal.builds()) == 1

    # down powers the container off in order (its units stop), then removes it all.
    marker = watch_orderly_stop(key, "web", tmp_path, lambda *a: bake(*a, cwd=project))
    down = bake("instance", "down", "web", cwd=project)
    assert down.returncode == 0, down.stdout + down.stderr
    assert down.stdout == "Shutting down web...\nRemoved instance web.\n"
    assert marker.read_text() == "stopped in order\n"
    assert journal.open_resources() == []
    assert journal.builds()[0].state == "removed"
    assert not key.exists()
    assert bake("instance", "list", "--json", cwd=project).stdout.strip() == "[]"
    gone = bake("instance", "down", "web", cwd=project)
    assert gone.returncode == 1 and "No instance named 'web'" in gone.stderr


def test_kill9_during_up_then_cleanup_leaves_nothing(
    project: Path, state_dir: Path, no_leaks: None
) -> None:
    proc, seen = bake_until(
        ["instance", "up", "--name", "doomed"], project, bake_env(),
        "Waiting for the container to finish booting...", signal.SIGKILL,
    )
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    time.sleep(0.5)
    journal = Journal(state_dir / "journal.sqlite")
    (record,) = journal.builds()
    assert record.state == "running" and not record.alive
    netns = next(r.data["name"] for r in journal.open_resources() if r.kind == "local.netns")
    assert netns in network_namespaces()
    # A dead `up` is not an instance: not listed, and its name is free again.
    assert bake("instance", "list", cwd=project).stdout.startswith("No instances")

    result = bake("cleanup", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal.open_resources() == []
    assert journal.builds()[0].state == "crashed"
    assert netns not in network_namespaces()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["instance", "up", "--source", "debian:sid"], "Unknown source 'debian:sid'"),
        (["instance", "up", "--zone", "ap-guangzhou-3"], "--zone: only for a Tencent Cloud image"),
        (["instance", "up", "--source", "old/base.tar.zst"], "old/base.tar.zst does not exist"),
        (["instance", "up", "--name", "no/slash"], "Invalid instance name 'no/slash'"),
        (["instance", "ssh", "nosuch"], "No instance named 'nosuch'"),
        (["instance", "down", "nosuch"], "No instance named 'nosuch'"),
        (["instance", "down"], "Give an instance NAME or --all"),
        (["instance", "down", "x", "--timeout", "soon"], "--timeout: expected a duration"),
        (["instance", "down", "x", "--force", "--timeout", "5s"], "a --timeout means nothing"),
    ],
    ids=["bad suite", "zone for a local source", "missing tarball", "bad name", "ssh unknown",
         "down unknown", "down nothing", "down bad timeout",
         "down force and timeout"],
)
def test_refusals_create_nothing(
    project: Path, state_dir: Path, no_leaks: None, argv: list[str], expected: str
) -> None:
    result = bake(*argv, cwd=project, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    if argv[1] == "up":
        assert not state_dir.exists(), "nothing may be created before the input is checked"


def test_up_from_a_tarball_boots_what_is_in_it(
    project: Path, base_rootfs: Path, tmp_path: Path, no_leaks: None
) -> None:
    """A baked image boots as baked: a tarball of the base plus a marker file, given by a path
    relative to the current directory; `down --all` removes it."""
    extra = tmp_path / "extra"
    (extra / "etc").mkdir(parents=True)
    (extra / "etc/bake-marker").write_text("baked by this test\n")
    image = project / "output/marked.tar.zst"
    image.parent.mkdir()
    subprocess.run(
        f"tar -C {base_rootfs} -cf - . -C {extra} ./etc/bake-marker | zstd -q -T0 -1 -o {image}",
        shell=True, check=True,
    )
    env = bake_env(BAKE_CACHE_DIR=str(tmp_path / "cache"))  # its extraction goes away with it

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bake", *argv], cwd=project, env=env, capture_output=True,
                              text=True, timeout=180)

    up = run("instance", "up", "--source", "output/marked.tar.zst", "--json")
    assert up.returncode == 0, up.stderr
    info = json.loads(up.stdout)
    assert info["source"] == str(image) and info["name"].startswith("marked-")
    marker = run("instance", "ssh", info["name"], "--", "cat", "/etc/bake-marker")
    assert marker.stdout == "baked by this test\n", marker.stderr
    # --force kills it at once: no unit is stopped.
    marker = watch_orderly_stop(Path(info["key_file"]), info["name"], tmp_path, run)
    down = run("instance", "down", "--all", "--force")
    assert down.returncode == 0, down.stdout + down.stderr
    assert down.stdout == f"Removed instance {info['name']}.\n"
    assert marker.read_text() == ""
    assert run("instance", "list").stdout.startswith("No instances")
