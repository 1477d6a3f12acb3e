"""``bake emulator``: serves until SIGINT, then removes everything it made."""

from __future__ import annotations

import fcntl
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client
from tencentcloud.vpc.v20170312 import vpc_client

from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY


def test_bake_emulator_serves_and_cleans_up(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bakeansible.cli.main import main; main()",
            "emulator",
            "--port",
            "0",
            "--secret-id",
            "AKIDcli",
            "--secret-key",
            "cli-secret",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"listening on http://(127\.0\.0\.1:\d+)", first)
        assert match, first
        profile = ClientProfile(httpProfile=HttpProfile(endpoint=match[1], protocol="http"))
        client = vpc_client.VpcClient(Credential("AKIDcli", "cli-secret"), "ap-guangzhou", profile)
        created = client.call_json("CreateVpc", {"VpcName": "cli", "CidrBlock": "10.0.0.0/16"})
        assert created["Response"]["Vpc"]["VpcId"].startswith("vpc-")
        assert any(tmp_path.iterdir()), "the emulator works inside --data-dir"
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert "nothing left behind" in output
    assert not any(tmp_path.iterdir()), "the emulator removed its data directory"


def _lines(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The process's output lines, read by a thread (a blocked readline cannot time out)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return lines, thread


def _until_line(lines: queue.Queue[str], text: str, seen: list[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"{text!r} not logged; output so far:\n{''.join(seen)}") from None
        seen.append(line)
        if text in line:
            return line


def test_emulator_log_says_when_an_instance_waits_for_its_base(
    tmp_path: Path, base_rootfs: Path
) -> None:
    """An instance whose Debian base is still being built says so in the log, then boots."""
    from bakeansible.builders.local import rootfs

    # A fresh cache whose bookworm base another process (this test) is building: its lock held.
    store = tmp_path / "cache" / "rootfs"
    store.mkdir(parents=True)
    key = rootfs.base_key("bookworm", tuple(dict.fromkeys(rootfs.BASE_PACKAGES)), "")
    lock = (store / f"{key}.lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    env = {**os.environ, "BAKE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("BAKE_LOG", None)
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bakeansible.cli.main import main; main()", "emulator",
         "--port", "0", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    seen: list[str] = []
    lines, pump = _lines(proc)
    try:
        endpoint = re.search(r"listening on http://(127\.0\.0\.1:\d+)", _until_line(
            lines, "listening on", seen))[1]  # type: ignore[index]  # fmt: skip
        profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http"))
        cvm = cvm_client.CvmClient(
            Credential(DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY), "ap-guangzhou", profile
        )

        def state(instance_id: str) -> str | None:
            found = cvm.call_json("DescribeInstances", {"InstanceIds": [instance_id]})
            instances = found["Response"]["InstanceSet"]
            return instances[0]["InstanceState"] if instances else None

        instance_id = cvm.call_json(
            "RunInstances",
            {"ImageId": DEBIAN_12_IMAGE_ID, "Placement": {"Zone": "ap-guangzhou-3"}},
        )["Response"]["InstanceIdSet"][0]
        line = _until_line(lines, "base root filesystem", seen)
        assert f"{instance_id}: waiting for the Debian bookworm base root filesystem" in line
        assert state(instance_id) == "PENDING"
        # The other process finishes: the base is in place, its lock released.
        (store / key).symlink_to(base_rootfs)
        (store / f"{key}.complete").write_text("bookworm\n")
        fcntl.flock(lock, fcntl.LOCK_UN)
        line = _until_line(lines, "base root filesystem", seen)
        assert f"{instance_id}: the Debian bookworm base root filesystem is ready" in line
        deadline = time.monotonic() + 60
        while state(instance_id) != "RUNNING":
            assert state(instance_id) == "PENDING", "".join(seen)
            assert time.monotonic() < deadline, "instance never RUNNING"
            time.sleep(0.25)
        cvm.call_json("TerminateInstances", {"InstanceIds": [instance_id]})
    finally:
        lock.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        pump.join(10)
    while not lines.empty():
        seen.append(lines.get())
    output = "".join(seen)
    assert proc.returncode == 0, output
    assert "nothing left behind" in output
    assert not any(data.iterdir()), "the emulator removed its data directory"
