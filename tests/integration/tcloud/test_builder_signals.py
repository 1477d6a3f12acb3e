"""SIGINT/SIGTERM at every step of a Tencent build, and kill -9 at every step then `bake cleanup`.

Each case runs ``bake build`` in a subprocess against the emulator (Debian public image, a shell
provisioner that sleeps a little so provisioning can be hit, one share account and one copy
region so the share and copy steps run too), waits for a line of its output and then signals it.
Afterwards nothing may be left: no open journal entry, nothing in the emulator's live-resource
view (instance, key pair, VPC, subnet, security group, image or image copy), no temporary file,
no container process, mount or nspawn directory, no manifest. The emulator's default (short)
delays keep the whole file at about 3 minutes for 42 cases on 2 CPUs.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bakeansible.pipeline.journal import Journal
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from tests.conftest import bake_env
from tests.procs import bake_until

#: The header each step prints as it starts, in build order (test id -> text).
STEP_HEADERS = {
    "check-image-name": "Trying to check image name: signalled...",
    "check-source-image": f"Trying to check source image: {DEBIAN_12_IMAGE_ID}...",
    "key-pair": "Trying to create a new keypair: bake_",
    "vpc": "Trying to create a new vpc...",
    "subnet": "Trying to create a new subnet...",
    "security-group": "Trying to create a new securitygroup...",
    "run-instance": "Trying to create a new instance...",
    "allow-ssh": "Trying to create securitygroup policies...",
    "connect-ssh": "Waiting for SSH to become available...",
    "provision": "Provisioning with shell script",
    "detach-key-pair": "Trying to detach keypair...",
    "create-image": "Trying to create a new image: signalled...",
    "share-image": "Trying to share image...",
    "copy-image": "Trying to copy image to: ap-shanghai...",
}
#: Points inside a step where the cloud holds something half-made: a PENDING instance, a
#: CREATING image, a copy still syncing in another region.
MID_STEP = {
    "instance-pending": "Waiting for instance ready",
    "image-creating": "Waiting for image ready",
    "copy-syncing": "Waiting for copy",
}
POINTS = {**STEP_HEADERS, **MID_STEP}
#: Points before the first resource is certainly created.
EARLY = {STEP_HEADERS[k] for k in ("check-image-name", "check-source-image", "key-pair")}


def _template(project: Path) -> None:
    template = {
        "builders": [
            {
                "type": "tencentcloud-cvm",
                "region": "ap-guangzhou",
                "zone": "ap-guangzhou-3",
                "instance_type": "S5.MEDIUM2",
                "associate_public_ip_address": True,
                "source_image_id": DEBIAN_12_IMAGE_ID,
                "image_name": "signalled",
                "image_share_accounts": ["100000000002"],
                "image_copy_regions": ["ap-shanghai"],
                "ssh_timeout": "60s",
            }
        ],
        "provisioners": [{"type": "shell", "inline": ["echo provisioning", "sleep 3"]}],
    }
    (project / "t.json").write_text(json.dumps(template))


def _env(emu: TencentEmulator, tmp: Path) -> dict[str, str]:
    """Emulator endpoint and credentials, and a private TMPDIR to find local leftovers in."""
    tmp.mkdir(exist_ok=True)
    return bake_env(
        TENCENTCLOUD_SECRET_ID=emu.secret_id,
        TENCENTCLOUD_SECRET_KEY=emu.secret_key,
        TENCENTCLOUD_ENDPOINT=emu.endpoint,
        TMPDIR=str(tmp),
    )


def _build_until(
    project: Path, env: dict[str, str], text: str, signum: signal.Signals
) -> tuple[subprocess.Popen[str], list[str]]:
    """Start ``bake build``; send ``signum`` once it printed ``text``."""
    return bake_until(["build", "-color=false", "t.json"], project, env, text, signum)


def _settled(emu: TencentEmulator, timeout: float = 15) -> dict[str, dict[str, list[str]]]:
    """The live-resource view once asynchronous terminations have had time to finish."""
    deadline = time.monotonic() + timeout
    while emu.live_resources() and time.monotonic() < deadline:
        time.sleep(0.2)
    return emu.live_resources()


def _assert_nothing_left(
    emu: TencentEmulator, journal: Journal, project: Path, tmp: Path, out: str
) -> None:
    assert journal.open_resources() == [], out
    assert _settled(emu) == {}, out
    assert not list(tmp.iterdir()), f"temporary files left: {list(tmp.iterdir())}\n{out}"
    assert not (project / "output/manifest.json").exists(), out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("header", STEP_HEADERS.values(), ids=STEP_HEADERS.keys())
def test_signal_at_each_step_cleans_up_without_help(
    state_dir: Path, no_leaks: None, tcloud_emulator: TencentEmulator, project: Path,
    tmp_path: Path, header: str, signum: signal.Signals,
) -> None:  # fmt: skip
    """SIGINT/SIGTERM as a step starts: bake cancels, removes everything itself and exits 1."""
    emu, tmp = tcloud_emulator, tmp_path / "tmp"
    _template(project)
    proc, seen = _build_until(project, _env(emu, tmp), header, signum)
    rest, _ = proc.communicate(timeout=180)
    out = "".join(seen) + rest
    assert header in out, out
    assert proc.returncode == 1, out
    assert "Traceback" not in out
    assert f"Cancelling build after receiving {signum.name}" in out
    journal = Journal(state_dir / "journal.sqlite")
    assert [b.state for b in journal.builds()] == ["cancelled"], out
    _assert_nothing_left(emu, journal, project, tmp, out)


@pytest.mark.parametrize("point", POINTS.values(), ids=POINTS.keys())
def test_kill9_at_each_step_then_bake_cleanup(
    state_dir: Path, no_leaks: None, tcloud_emulator: TencentEmulator, project: Path,
    tmp_path: Path, point: str,
) -> None:  # fmt: skip
    """kill -9 as a step starts (or mid-step); ``bake cleanup`` removes what the build held."""
    emu, tmp = tcloud_emulator, tmp_path / "tmp"
    _template(project)
    env = _env(emu, tmp)
    proc, seen = _build_until(project, env, point, signal.SIGKILL)
    proc.wait(30)
    out = "".join(seen)
    assert proc.returncode == -signal.SIGKILL, out
    assert proc.stdout is not None
    proc.stdout.close()

    journal = Journal(state_dir / "journal.sqlite")
    (record,) = journal.builds()
    assert record.state == "running" and not record.alive
    listed = subprocess.run(
        ["bake", "cleanup", "--dry-run"], cwd=project, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    held = journal.open_resources()
    if point not in EARLY:  # the key pair exists by then: something must be left to clean up
        assert held and emu.live_resources(), out
    assert len(held) == len(
        [line for line in listed.stdout.splitlines() if line.startswith("Would remove")]
    ), listed.stdout
    cleanup = subprocess.run(
        ["bake", "cleanup"], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )
    report = out + "\n--- bake cleanup:\n" + cleanup.stdout + cleanup.stderr
    assert cleanup.returncode == 0, report
    assert "Traceback" not in report
    # The reaper marks every dead build crashed, whether or not it held anything.
    assert [b.state for b in journal.builds()] == ["crashed"], report
    _assert_nothing_left(emu, journal, project, tmp, report)
