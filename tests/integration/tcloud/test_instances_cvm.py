"""`bake instance` and `bake test` with a Tencent Cloud image, on the emulator: a CVM held
after `up` (listed, reachable with `bake instance ssh`, spared by `bake cleanup`), removed with
everything it holds by `down`; `bake test img-…` passing and failing, leaving nothing; kill -9
during `up`, then `bake cleanup`, leaving nothing."""

from __future__ import annotations

import datetime as dt
import json
import signal
import stat
import time
from pathlib import Path

from bakeansible.builders.tencentcloud.context import TAG_BUILD_ID, TAG_EXPIRES_AT
from bakeansible.pipeline.journal import Journal
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from tests.integration.tcloud.seed import client, emulator_env, run_bake
from tests.procs import bake_until

CVM = ["--zone", "ap-guangzhou-3", "--instance-type", "S2.SMALL1"]


def settled(emu: TencentEmulator) -> dict[str, dict[str, list[str]]]:
    """What is left in the emulator once terminations in flight are done (as the fixture)."""
    deadline = time.monotonic() + 15
    while emu.live_resources() and time.monotonic() < deadline:
        time.sleep(0.2)
    return emu.live_resources()


def test_cvm_instance_up_list_ssh_down_then_bake_test_and_kill9(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    env = emulator_env(emu, TENCENTCLOUD_REGION="ap-guangzhou")
    journal = Journal(state_dir / "journal.sqlite")

    def bake(*argv: str) -> tuple[int, str, str]:
        result = run_bake(list(argv), project, env)
        assert "Traceback" not in result.stderr, result.stderr
        return result.returncode, result.stdout, result.stderr

    code, out, err = bake(
        "instance", "up", "--source", DEBIAN_12_IMAGE_ID, "--name", "cvm", "--ttl", "2h",
        "--json", *CVM,
    )  # fmt: skip
    assert code == 0, out + err
    info = json.loads(out)
    assert info["kind"] == "tencent" and info["source"] == DEBIAN_12_IMAGE_ID
    assert info["region"] == "ap-guangzhou" and info["instance_id"].startswith("ins-")
    assert (info["user"], info["port"]) == ("root", 22)
    key = Path(info["key_file"])
    record = journal.builds()[0]
    assert key.parent == state_dir / "instances" / record.build_id
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert emu.secret_key not in out + err

    # The CVM and its network carry the build tag and an expiry of up-time + --ttl.
    api = client(emu)
    (inst,) = api.cvm("DescribeInstances", {"InstanceIds": [info["instance_id"]]}).InstanceSet
    tags = {t.Key: t.Value for t in inst.Tags}
    assert tags[TAG_BUILD_ID] == record.build_id
    expires = dt.datetime.strptime(tags[TAG_EXPIRES_AT], "%Y-%m-%dT%H:%M:%SZ")
    ttl = expires.replace(tzinfo=dt.UTC) - dt.datetime.fromtimestamp(record.started_at, dt.UTC)
    assert dt.timedelta(hours=2) - dt.timedelta(seconds=5) < ttl <= dt.timedelta(hours=2, seconds=5)
    assert inst.PublicIpAddresses and info["address"] == inst.PublicIpAddresses[0]

    code, out, err = bake("instance", "list", "--json")
    assert code == 0, err
    assert [(i["name"], i["instance_id"], i["state"]) for i in json.loads(out)] == [
        ("cvm", info["instance_id"], "running")
    ]
    code, out, err = bake("instance", "ssh", "cvm", "--", "cat", "/etc/os-release")
    assert code == 0 and "bookworm" in out, out + err

    # Held: `bake cleanup` keeps it and everything it holds.
    held = journal.open_resources()
    assert {"tencent.instance", "tencent.vpc", "tencent.subnet", "tencent.security_group",
            "tencent.keypair", "tencent.key_file"} <= {r.kind for r in held}  # fmt: skip
    code, out, err = bake("cleanup")
    assert code == 0 and "Kept instance cvm" in out, out + err
    assert journal.open_resources() == held and key.exists()

    # An unreachable API: the state is unknown, not a traceback.
    broken = {**env, "TENCENTCLOUD_SECRET_KEY": "wrong"}
    listed = run_bake(["instance", "list"], project, broken)
    assert listed.returncode == 0 and "cvm  unknown (" in listed.stdout, listed.stderr

    code, out, err = bake("instance", "down", "cvm")
    assert code == 0 and "Removed instance cvm" in out, out + err
    assert journal.open_resources() == [] and not key.parent.exists()
    assert settled(emu) == {}, "down left cloud resources"

    # bake test img-…: a fresh CVM per run, removed whether the check passes or fails.
    check = "grep -q bookworm /etc/os-release"
    code, out, err = bake("test", DEBIAN_12_IMAGE_ID, "--command", check, *CVM)
    assert code == 0, out + err
    assert f"Tests passed on a fresh instance of {DEBIAN_12_IMAGE_ID}" in out
    assert settled(emu) == {} and journal.open_resources() == []
    code, out, err = bake("test", DEBIAN_12_IMAGE_ID, "--command", "false", *CVM)
    assert code == 1 and "Test 'false' failed" in out, out + err
    assert settled(emu) == {} and journal.open_resources() == []

    # kill -9 while the CVM boots: not an instance; `bake cleanup` removes all it made.
    proc, seen = bake_until(
        ["instance", "up", "--source", DEBIAN_12_IMAGE_ID, "--name", "doomed", *CVM],
        project, env, "Waiting for instance ready", signal.SIGKILL,
    )  # fmt: skip
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert any(r.kind == "tencent.key_file" for r in journal.open_resources())
    code, out, err = bake("instance", "list")
    assert out.startswith("No instances"), out + err
    code, out, err = bake("cleanup")
    assert code == 0, out + err
    assert journal.open_resources() == []
    assert not list((state_dir / "instances").iterdir())
