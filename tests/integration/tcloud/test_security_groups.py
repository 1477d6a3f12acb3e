"""Security groups decide, as on the cloud, whether bake's SSH reaches an emulator instance.

A group that allows TCP 22 only from 10.255.255.255/32 makes the build fail with an SSH timeout
that names the likely cause; bake's own temporary group (TCP 22 from the address bake connects
from: the host end of the instance's veth pair) lets it in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.steps.ssh_ingress import local_address_towards
from bakeansible.errors import WaitTimeout
from bakeansible.pipeline.journal import Journal
from bakeansible.testing.tcloud import TencentEmulator
from tests.integration.tcloud.test_builder_faults import build, keep_nothing
from tests.integration.tcloud.test_emulator_instances import call, retry_in_use


@pytest.fixture
def journal(tmp_path: Path, tcloud_emulator: TencentEmulator, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", tcloud_emulator.secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", tcloud_emulator.secret_key)
    return Journal(tmp_path / "journal.sqlite")


def test_security_groups_decide_whether_bake_gets_in(
    tcloud_emulator: TencentEmulator, journal: Journal
) -> None:
    emu = tcloud_emulator
    vpc = emu.vpc_client()
    group = call(vpc, "CreateSecurityGroup", GroupName="ssh-elsewhere", GroupDescription="e2e")[
        "SecurityGroup"
    ]["SecurityGroupId"]
    call(
        vpc,
        "CreateSecurityGroupPolicies",
        SecurityGroupId=group,
        SecurityGroupPolicySet={
            "Ingress": [
                {"Protocol": "TCP", "Port": "22", "CidrBlock": "10.255.255.255/32",
                 "Action": "ACCEPT"}
            ]
        },
    )  # fmt: skip
    try:
        _ctx, ui, error = build(emu, journal, security_group_id=group, ssh_timeout=8.0)
        assert isinstance(error, WaitTimeout), ui.text()
        assert "Timed out after 8s waiting for SSH" in error.message
        assert "TimeoutError" in error.message  # dropped, not refused
        assert "security group drops it" in (error.hint or "")
        assert "Connected to SSH!" not in ui.text()
        assert "Cleaning up instance because the build failed..." in ui.text()
    finally:
        retry_in_use(lambda: call(vpc, "DeleteSecurityGroup", SecurityGroupId=group))

    # While the instance (and its network) exists: the address bake connects from.
    source: list[str | None] = []

    def note_source(ctx: TencentContext) -> None:
        assert ctx.ssh is not None
        source.append(local_address_towards(ctx.ssh.host))

    ctx, ui, error = build(emu, journal, when=("Connected to SSH!", note_source))
    try:
        assert error is None, ui.text()
        allowed = re.search(r"Securitygroup policies created: SSH \(22/tcp\) from (\S+)", ui.text())
        assert allowed, ui.text()
        # The host's end of the instance's veth pair, not the address bake calls the API from.
        assert source and allowed[1] == f"{source[0]}/32" != "127.0.0.1/32", (source, ui.text())
    finally:
        keep_nothing(emu, ctx)
    assert journal.open_resources() == []
