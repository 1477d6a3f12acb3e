"""``bake emulator``: serves until SIGINT, then removes everything it made."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client


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
