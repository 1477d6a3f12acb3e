"""Pure parts of the steps: request shapes, name search, artifact wording, SSH sources."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path
from types import SimpleNamespace as NS

from bakeansible.builders.tencentcloud.config import DataDisk, TencentCvmConfig
from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.steps.common import cleaning
from bakeansible.builders.tencentcloud.steps.create_image import (
    artifact_description,
    artifact_id,
)
from bakeansible.builders.tencentcloud.steps.run_instance import StepRunInstance, host_name_for
from bakeansible.builders.tencentcloud.steps.source_image import literal_fragment
from bakeansible.builders.tencentcloud.steps.ssh_ingress import (
    default_source_cidrs,
    local_address_towards,
)
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.step import Outcome
from tests.unit.tencentcloud.test_client import Reply, client_with


def config(**over: object) -> TencentCvmConfig:
    base = dict(
        region="ap-guangzhou", zone="ap-guangzhou-3", instance_type="S2.SMALL1",
        source_image_id="img-9qabwvbn", image_name="nginx", associate_public_ip_address=True,
    )  # fmt: skip
    return TencentCvmConfig(**{**base, **over})  # type: ignore[arg-type]


def context() -> TencentContext:
    ctx = TencentContext(build_id="b" * 32, build_name="t", builder_type="tencentcloud-cvm")
    ctx.tags = {"bake:build-id": "b" * 32, "bake:created-by": "me", "bake:expires-at": "x"}
    ctx.source_image = NS(ImageId="img-9qabwvbn", SnapshotSet=[])
    ctx.vpc_id, ctx.subnet_id, ctx.security_group_id = "vpc-1", "subnet-1", "sg-1"
    ctx.key_id = "skey-1"
    return ctx


def test_run_instances_request() -> None:
    step = StepRunInstance(config(run_tags={"team": "web"}, user_data="#!/bin/sh\n"), "bake_ab")
    params = step.request(context(), "token-1")
    assert params["ClientToken"] == "token-1"
    assert params["Placement"] == {"Zone": "ap-guangzhou-3"}
    assert params["LoginSettings"] == {"KeyIds": ["skey-1"]}
    assert params["InternetAccessible"]["InternetMaxBandwidthOut"] == 1
    assert params["InternetAccessible"]["PublicIpAssigned"] is True
    assert base64.b64decode(params["UserData"]) == b"#!/bin/sh\n"
    assert "CamRoleName" not in params
    tags = {t["Key"]: t["Value"] for t in params["TagSpecification"][0]["Tags"]}
    assert tags["team"] == "web" and tags["bake:build-id"] == "b" * 32
    assert "bake:expires-at" in tags


def test_client_token_is_fresh_per_attempt_and_kept_through_retries(tmp_path: Path) -> None:
    """Each run of the step makes its own ClientToken (never the instance name: a rerun would
    get the old instance back); the client's retries of one call reuse it; the journal has it."""
    running = NS(InstanceId="ins-1", InstanceState="RUNNING", LatestOperation="RunInstances",
                 LatestOperationState="SUCCESS",
                 PublicIpAddresses=["203.0.113.9"], PrivateIpAddresses=["10.0.8.2"])  # fmt: skip
    client, sdk, _ = client_with([
        "InternalError", Reply(InstanceIdSet=["ins-1"]), Reply(InstanceSet=[running]),
        Reply(InstanceIdSet=["ins-1"]), Reply(InstanceSet=[running]),
    ])  # fmt: skip
    journal = Journal(tmp_path / "journal.sqlite")
    ctx = context()
    ctx.client, ctx.journal = client, journal
    ctx.access = client.access
    journal.start_build(ctx.build_id, ctx.build_name, ctx.builder_type)
    for _ in range(2):
        StepRunInstance(config(instance_name="fixed"), "fixed").run(ctx)
    runs = [r for r in sdk.requests if type(r).__name__ == "RunInstancesRequest"]
    tokens = [r.ClientToken for r in runs]
    assert len(tokens) == 3 and tokens[0] == tokens[1], "a retry resends the same token"
    assert tokens[2] != tokens[0], "a new attempt gets a new token"
    assert "fixed" not in tokens and all(tokens)
    journaled = [r.data["client_token"] for r in journal.open_resources(ctx.build_id)]
    assert sorted(journaled) == sorted([tokens[0], tokens[2]])


def test_data_disks_from_image_snapshots_win() -> None:
    ctx = context()
    ctx.source_image = NS(
        ImageId="img-1",
        SnapshotSet=[NS(DiskUsage="SYSTEM_DISK", DiskSize=50, SnapshotId="snap-s"),
                     NS(DiskUsage="DATA_DISK", DiskSize=100, SnapshotId="snap-d")],
    )  # fmt: skip
    step = StepRunInstance(config(data_disks=(DataDisk("CLOUD_SSD", 10),)), "n")
    assert step.request(ctx, "t")["DataDisks"] == [
        {"DiskType": "CLOUD_PREMIUM", "DiskSize": 100, "SnapshotId": "snap-d"}
    ]
    step_plain = StepRunInstance(config(data_disks=(DataDisk("", 10, "snap-x"),)), "n")
    assert step_plain.request(context(), "t")["DataDisks"] == [
        {"DiskType": "CLOUD_PREMIUM", "DiskSize": 10, "SnapshotId": "snap-x"}
    ]


def test_password_login_and_private_address() -> None:
    step = StepRunInstance(config(ssh_password="pw", associate_public_ip_address=False), "n")
    params = step.request(context(), "t")
    assert params["LoginSettings"] == {"Password": "pw"} and "InternetAccessible" not in params
    inst = NS(InstanceId="ins-1", PublicIpAddresses=None, PrivateIpAddresses=["10.0.8.3"])
    assert step.ssh_address(inst) == "10.0.8.3"
    public = StepRunInstance(config(), "n")
    inst = NS(InstanceId="ins-1", PublicIpAddresses=["1.2.3.4"], PrivateIpAddresses=["10.0.8.3"])
    assert public.ssh_address(inst) == "1.2.3.4"
    assert StepRunInstance(config(ssh_private_ip=True), "n").ssh_address(inst) == "10.0.8.3"


def test_host_name_default() -> None:
    assert host_name_for("bake_0123456789abcdef") == "bake-0123456789"


def test_literal_fragment() -> None:
    assert literal_fragment("Debian 12") == "Debian 12"
    assert literal_fragment(r"^CentOS 7\.\d+ 64bit$") == "CentOS 7."
    assert literal_fragment("a|b") == ""
    assert literal_fragment(".*") == ""


def test_artifact_like_packer() -> None:
    images = {"ap-shanghai": "img-bbbbbbbb", "ap-guangzhou": "img-aaaaaaaa"}
    assert artifact_id(images) == "ap-guangzhou:img-aaaaaaaa,ap-shanghai:img-bbbbbbbb"
    assert artifact_description({"ap-guangzhou": "img-aaaaaaaa"}) == (
        "Tencentcloud images(ap-guangzhou: img-aaaaaaaa) were created."
    )


def test_cleanup_messages_say_why() -> None:
    assert cleaning("vpc", Outcome.SUCCESS) == "Cleaning up vpc..."
    assert cleaning("vpc", Outcome.CANCELLED) == "Cleaning up vpc because of cancellation..."


def test_default_ssh_source() -> None:
    # A private address is reached directly: it sees the local address on that route.
    assert default_source_cidrs("127.0.0.1", 22, True, "10.0.0.0/16") == (["127.0.0.1/32"], None)
    assert default_source_cidrs("10.0.0.9", 22, False, "10.0.0.0/16") == (["10.0.0.0/16"], None)
    cidrs, warning = default_source_cidrs("nonexistent.invalid", 22, True, "")
    assert cidrs == ["0.0.0.0/0"] and warning and "temporary_security_group_source_cidrs" in warning
    # A public address: our own address if it is public, else (behind NAT) 0.0.0.0/0 and a
    # warning.
    source = local_address_towards("1.1.1.1")
    cidrs, warning = default_source_cidrs("1.1.1.1", 22, True, "")
    if source and ipaddress.ip_address(source).is_global:
        assert (cidrs, warning) == ([f"{source}/32"], None)
    else:
        assert cidrs == ["0.0.0.0/0"] and warning
