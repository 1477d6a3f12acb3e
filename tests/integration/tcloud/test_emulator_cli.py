"""``bake emulator``: serves until SIGINT, then removes everything it made, and says so only
when it is true."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client
from tencentcloud.vpc.v20170312 import vpc_client

from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID
from tests.hostcheck import HostState

ZONE = "ap-guangzhou-3"


def _call(client: Any, action: str, **params: Any) -> dict[str, Any]:
    return client.call_json(action, params)["Response"]  # type: ignore[no-any-return]


def _run_instance(endpoint: str) -> str:
    """A VPC, subnet and group, and an instance on them, RUNNING (a real container)."""
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http"))
    cred = Credential("AKIDcli", "cli-secret")
    vpc = vpc_client.VpcClient(cred, "ap-guangzhou", profile)
    cvm = cvm_client.CvmClient(cred, "ap-guangzhou", profile)
    vpc_id = _call(vpc, "CreateVpc", VpcName="cli", CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = _call(vpc, "CreateSubnet", VpcId=vpc_id, SubnetName="cli", CidrBlock="10.0.8.0/24",
                   Zone=ZONE)["Subnet"]["SubnetId"]  # fmt: skip
    group = _call(vpc, "CreateSecurityGroup", GroupName="cli", GroupDescription="cli")
    (instance_id,) = _call(
        cvm, "RunInstances", ImageId=DEBIAN_12_IMAGE_ID, Placement={"Zone": ZONE},
        InstanceType="S5.MEDIUM2", SecurityGroupIds=[group["SecurityGroup"]["SecurityGroupId"]],
        VirtualPrivateCloud={"VpcId": vpc_id, "SubnetId": subnet},
        LoginSettings={"Password": "Cli-passw0rd"},
    )["InstanceIdSet"]  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        (inst,) = _call(cvm, "DescribeInstances", InstanceIds=[instance_id])["InstanceSet"]
        assert inst["InstanceState"] != "LAUNCH_FAILED", inst
        if inst["InstanceState"] == "RUNNING" and inst["LatestOperationState"] != "OPERATING":
            return instance_id
        time.sleep(0.25)
    raise AssertionError(f"{instance_id} never ran")


def test_bake_emulator_serves_and_cleans_up(
    tmp_path: Path, base_rootfs: Path, no_leaks: None
) -> None:
    data = tmp_path / "data"
    before = HostState.read()
    proc = subprocess.Popen(
        [
            sys.executable, "-c", "from bakeansible.cli.main import main; main()", "emulator",
            "--port", "0", "--secret-id", "AKIDcli", "--secret-key", "cli-secret",
            "--data-dir", str(data),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"listening on http://(127\.0\.0\.1:\d+)", first)
        assert match, first
        _run_instance(match[1])
        assert any(data.iterdir()), "the emulator works inside --data-dir"
        running = HostState.read().leaks_since(before)
        assert running, "the instance is a container on this host"
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, output
