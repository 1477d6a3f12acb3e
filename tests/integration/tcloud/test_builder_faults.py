"""The tencentcloud-cvm builder under faults: it fails fast, cleans up, and leaves nothing.

Builds run in-process (real SDK, real SSH) so faults can be timed; the emulator fixture asserts
after each test that no instance, key pair, VPC, subnet, security group or image is left.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bakeansible.builders.tencentcloud.builder import TencentCvmBuilder
from bakeansible.builders.tencentcloud.client import RetryPolicy
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_image
from bakeansible.builders.tencentcloud.sweep import sweep_expired
from bakeansible.config.model import BuildSpec, ProvisionerSpec
from bakeansible.errors import BakeError, BuildCancelled
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.reaper import sweep
from bakeansible.pipeline.runner import run_steps
from bakeansible.provisioners.config import ShellConfig
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from bakeansible.ui import RecordingUi
from tests.conftest import bake_env

#: Every action a plain build sends, in order (the cleanup ones last).
BUILD_ACTIONS = [
    "DescribeZones", "DescribeInstanceTypeConfigs", "DescribeImages", "CreateKeyPair",
    "CreateVpc", "CreateSubnet", "CreateSecurityGroup", "CreateSecurityGroupPolicies",
    "RunInstances", "DescribeInstances", "DisassociateInstancesKeyPairs", "CreateImage",
    "TerminateInstances", "DeleteSecurityGroup", "DeleteSubnet", "DeleteVpc", "DeleteKeyPairs",
]  # fmt: skip


def make_config(emu: TencentEmulator, **over: Any) -> TencentCvmConfig:
    fields = dict(
        secret_id=emu.secret_id, secret_key=emu.secret_key, endpoint=emu.endpoint,
        region="ap-guangzhou", zone="ap-guangzhou-3", instance_type="S5.MEDIUM2",
        associate_public_ip_address=True, source_image_id=DEBIAN_12_IMAGE_ID,
        image_name="fault-image", ssh_timeout=60.0, api_retry_timeout=30.0,
    )  # fmt: skip
    return TencentCvmConfig(**{**fields, **over})


def build(
    emu: TencentEmulator,
    journal: Journal,
    inline: tuple[str, ...] = ("true",),
    when: tuple[str, Callable[[TencentContext], None]] | None = None,
    retry_for: float = 30.0,
    **over: Any,
) -> tuple[TencentContext, RecordingUi, BaseException | None]:
    """Run one build in-process; returns its context, its output and its error.

    ``when=(text, action)`` runs ``action(ctx)`` once the build has printed ``text``.
    """
    config = make_config(emu, **over)
    prov = ProvisionerSpec(type="shell", config=ShellConfig(inline=inline))
    spec = BuildSpec(name="cvm", type="tencentcloud-cvm", config=config, provisioners=(prov,))
    builder = TencentCvmBuilder(spec, None, env={})
    builder.preflight()
    # The real backoff (1 s doubling to 15 s) is unit-tested; here retries only need to happen.
    builder.policy = RetryPolicy(base_delay=0.05, max_delay=0.5, max_elapsed=retry_for)
    ui = RecordingUi()
    build_id = os.urandom(16).hex()
    journal.start_build(build_id, "cvm", "tencentcloud-cvm")
    base = BuildContext(build_id=build_id, build_name="cvm", builder_type="tencentcloud-cvm",
                        ui=ui, journal=journal)  # fmt: skip
    ctx = builder.new_context(base)
    if when is not None:
        text, action = when

        def watch() -> None:
            while not any(text in line for _, line in list(ui.lines)):
                time.sleep(0.02)
            action(ctx)

        threading.Thread(target=watch, daemon=True).start()
    error: BaseException | None = None
    try:
        run_steps(builder.steps(ctx), ctx)
    except BakeError as exc:
        error = exc
    return ctx, ui, error


@pytest.fixture
def journal(tmp_path: Path, tcloud_emulator: TencentEmulator, monkeypatch: pytest.MonkeyPatch):
    """A private journal; the reaper finds the emulator's credentials in the environment."""
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", tcloud_emulator.secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", tcloud_emulator.secret_key)
    return Journal(tmp_path / "journal.sqlite")


def keep_nothing(emu: TencentEmulator, ctx: TencentContext) -> None:
    """Remove an image a build that unexpectedly succeeded left, so the next check is fair."""
    for region, image_id in ctx.images.items():
        delete_image(ctx.api.for_region(region), image_id)


def test_launch_failed_fails_fast_with_reason(tcloud_emulator: TencentEmulator, journal: Journal):
    emu = tcloud_emulator
    emu.faults.fail_launch(1, "ResourceInsufficient.SpecifiedInstanceType: sold out")
    started = time.monotonic()
    ctx, ui, error = build(emu, journal, instance_ready_timeout=600.0)
    assert error is not None and "sold out" in str(error), ui.text()
    assert "LAUNCH_FAILED" in str(error)
    assert time.monotonic() - started < 60  # not the 600 s timeout
    assert "Cleaning up instance because the build failed..." in ui.text()
    assert journal.open_resources() == []


def test_image_createfailed_fails_fast_and_removes_it(
    tcloud_emulator: TencentEmulator, journal: Journal
) -> None:
    emu = tcloud_emulator
    emu.faults.fail_image(1, "disk snapshot failed")
    ctx, ui, error = build(emu, journal, image_ready_timeout=600.0)
    assert error is not None and "CREATEFAILED" in str(error), ui.text()
    assert "Cleaning up image because the build failed..." in ui.text()
    assert journal.open_resources() == []


def test_throttling_and_transient_errors_are_retried(
    tcloud_emulator: TencentEmulator, journal: Journal
) -> None:
    emu = tcloud_emulator
    emu.faults.throttle(8)
    emu.faults.fail("RunInstances", "InternalError")
    emu.faults.fail("DeleteVpc", "ResourceInUse")
    emu.faults.drop("CreateImage")
    ctx, ui, error = build(emu, journal)
    try:
        assert error is None, ui.text()
        assert ctx.api.calls["RunInstances"] == 2
    finally:
        keep_nothing(emu, ctx)


@pytest.mark.parametrize("action", BUILD_ACTIONS)
def test_each_action_failing_once_leaves_nothing(
    tcloud_emulator: TencentEmulator, journal: Journal, action: str
) -> None:
    """A non-retryable error on any action: the build stops (or a cleanup call fails); either
    way, what the build did not remove itself is journaled, and the reaper removes it."""
    emu = tcloud_emulator
    emu.faults.fail(action, "FailedOperation", message=f"injected {action} failure")
    ctx, ui, error = build(emu, journal)
    if error is None:
        keep_nothing(emu, ctx)
    if action.startswith(("Delete", "Terminate")):
        assert "Failed to delete" in ui.text() and "bake cleanup" in ui.text(), ui.text()
    else:
        assert error is not None and f"injected {action} failure" in str(error), ui.text()
    report = sweep(journal, include_alive=True)
    assert not report.failed, report.failed
    assert journal.open_resources() == []


def test_cancel_while_waiting_for_the_instance(
    tcloud_emulator: TencentEmulator, journal: Journal
) -> None:
    emu = tcloud_emulator
    emu.faults.delay("DescribeInstances", 0.3)
    ctx, ui, error = build(
        emu, journal, when=("Waiting for instance ready", lambda c: c.cancel_event.set())
    )
    assert isinstance(error, BuildCancelled), ui.text()
    for what in ("instance", "securitygroup", "subnet", "vpc", "keypair"):
        assert f"Cleaning up {what} because of cancellation..." in ui.text()
    assert journal.open_resources() == []


def test_ssh_never_ready_times_out_and_cleans_up(
    tcloud_emulator: TencentEmulator, journal: Journal
) -> None:
    emu = tcloud_emulator
    ctx, ui, error = build(emu, journal, ssh_port=2222, ssh_timeout=3.0)
    assert error is not None and "Timed out" in str(error) and "SSH" in str(error), ui.text()
    assert "Cleaning up instance because the build failed..." in ui.text()
    assert journal.open_resources() == []


def test_provisioner_failure_cleans_up(tcloud_emulator: TencentEmulator, journal: Journal):
    ctx, ui, error = build(tcloud_emulator, journal, inline=("echo broken >&2", "exit 3"))
    assert error is not None, ui.text()
    assert "Cleaning up image" not in ui.text()  # never created
    assert journal.open_resources() == []


def test_share_failure_removes_the_image(tcloud_emulator: TencentEmulator, journal: Journal):
    emu = tcloud_emulator
    emu.faults.fail("ModifyImageSharePermission", "InvalidAccountId.NotFound")
    ctx, ui, error = build(emu, journal, image_share_accounts=("999",))
    assert error is not None and "InvalidAccountId.NotFound" in str(error), ui.text()
    assert "Cleaning up image because the build failed..." in ui.text()
    assert journal.open_resources() == []


def test_copy_failure_removes_copies_shares_and_image(
    tcloud_emulator: TencentEmulator, journal: Journal
) -> None:
    """Packer never deleted SyncImages copies; bake deletes them when the build fails."""
    emu = tcloud_emulator

    def break_copy_wait(_: TencentContext) -> None:
        emu.faults.fail("DescribeImages", "FailedOperation", region="ap-shanghai")

    ctx, ui, error = build(
        emu,
        journal,
        image_copy_regions=("ap-shanghai",),
        image_share_accounts=("100000000002",),
        when=("Waiting for copy", break_copy_wait),
    )
    assert error is not None and "FailedOperation" in str(error), ui.text()
    assert "Cancelling image sharing because the build failed..." in ui.text()
    assert "Cleaning up image copy img-" in ui.text() and "in ap-shanghai" in ui.text()
    assert "Cleaning up image because the build failed..." in ui.text()
    assert journal.open_resources() == []


def test_tag_sweep_removes_expired_resources(
    tcloud_emulator: TencentEmulator, journal: Journal
) -> None:
    """A build whose journal is lost: the bake:expires-at tags alone find its leftovers."""
    emu = tcloud_emulator
    emu.faults.fail("TerminateInstances", "FailedOperation", times=None)
    ctx, ui, error = build(emu, journal, retry_for=2.0)
    emu.faults.clear()
    keep_nothing(emu, ctx)
    assert emu.live_resources()
    env = {
        "TENCENTCLOUD_SECRET_ID": emu.secret_id,
        "TENCENTCLOUD_SECRET_KEY": emu.secret_key,
        "TENCENTCLOUD_ENDPOINT": emu.endpoint,
        "TENCENTCLOUD_REGION": "ap-guangzhou",
    }
    assert sweep_expired(dry_run=False, env=env) == []  # nothing expired yet
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    listed = sweep_expired(dry_run=True, env=env, now=later)
    assert any("instance" in line for line in listed), listed
    removed = sweep_expired(env=env, now=later)
    assert [line for line in removed if line.startswith("Could not")] == []
    assert {line.split()[2] for line in removed} >= {"instance", "vpc", "subnet"}


def test_clear_authorized_keys(tcloud_emulator: TencentEmulator, journal: Journal) -> None:
    """The image has no authorized_keys: neither bake's key nor one the provisioner added."""
    added = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAddedByTheProvisioner user@provisioned"
    inline = ("test -s ~/.ssh/authorized_keys", f"echo '{added}' >> ~/.ssh/authorized_keys")
    ctx, ui, error = build(tcloud_emulator, journal, inline=inline, ssh_clear_authorized_keys=True)
    try:
        assert error is None, ui.text()
        assert "Authorized keys removed" in ui.text()
        keys = image_file(tcloud_emulator, ctx.region, ctx.image_id, "root/.ssh/authorized_keys")
        assert keys is None, f"the image still has authorized_keys: {keys!r}"
        assert image_file(tcloud_emulator, ctx.region, ctx.image_id, "etc/os-release")
    finally:
        keep_nothing(tcloud_emulator, ctx)


def image_file(emu: TencentEmulator, region: str, image_id: str, path: str) -> bytes | None:
    """A file of a custom image as an instance booted from it sees it; None when absent.

    The emulator keeps an image as overlayfs layers (newest first) over a base root: the first
    layer holding the path, a whiteout of it or of a parent, or an opaque parent decides.
    """
    image = emu.cloud.region(region).images[image_id]
    assert image.state == "NORMAL" and image.base_root, image
    roots = [*(emu.cloud.layers.path(name) for name in image.layers), Path(image.base_root)]
    parts = Path(path).parts
    for root in roots:
        opaque = False
        for depth in range(1, len(parts) + 1):
            here = root.joinpath(*parts[:depth])
            if here.is_char_device() and here.stat().st_rdev == 0:
                return None  # a whiteout: deleted in this layer
            if depth == len(parts) and here.is_file():
                return here.read_bytes()
            opaque = opaque or (depth < len(parts) and here.is_dir() and _opaque(here))
        if opaque:
            return None  # this layer replaced a parent directory: lower layers do not show
    return None


def _opaque(directory: Path) -> bool:
    try:
        return os.getxattr(directory, "trusted.overlay.opaque") == b"y"
    except OSError:
        return False


def test_unanswered_run_instances_is_adopted_and_removed(
    state_dir: Path, no_leaks: None, tcloud_emulator: TencentEmulator, project: Path
) -> None:
    """RunInstances creates the instance but no answer ever arrives: ``bake build`` fails, and
    its own cleanup finds the instance by name and build tag and terminates it."""
    emu = tcloud_emulator
    emu.faults.lose_answer("RunInstances", times=None)
    template = {
        "builders": [{
            "type": "tencentcloud-cvm", "region": "ap-guangzhou", "zone": "ap-guangzhou-3",
            "instance_type": "S5.MEDIUM2", "associate_public_ip_address": True,
            "source_image_id": DEBIAN_12_IMAGE_ID, "image_name": "unanswered",
        }],
        "provisioners": [{"type": "shell", "inline": ["true"]}],
    }  # fmt: skip
    (project / "t.json").write_text(json.dumps(template))
    env = bake_env(
        TENCENTCLOUD_SECRET_ID=emu.secret_id, TENCENTCLOUD_SECRET_KEY=emu.secret_key,
        TENCENTCLOUD_ENDPOINT=emu.endpoint,
    )  # fmt: skip
    result = subprocess.run(
        ["bake", "build", "-color=false", "t.json"], cwd=project, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Traceback" not in out
    assert "RunInstances" in out and "ClientNetworkError" in out, out
    assert emu.call_counts["RunInstances"] > 1, "the client retries with the same ClientToken"
    # Only an adopted instance is cleaned up: the step never learnt its id from an answer.
    assert "Cleaning up instance because the build failed..." in out, out
    assert Journal(state_dir / "journal.sqlite").open_resources() == [], out
    assert emu.live_resources() == {}, out
