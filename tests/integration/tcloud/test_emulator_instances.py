"""The emulator's instances are real: boot, SSH, key detach, image, boot from the image, copies.

Driven with tencentcloud-sdk-python (``call_json``: the SDK's own signing and error handling).
"""

from __future__ import annotations

import io
import ipaddress
import socket
import time
from collections.abc import Callable
from typing import Any

import paramiko
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from bakeansible.builders.local.network import network_pool
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator

REGION = "ap-guangzhou"
ZONE = "ap-guangzhou-3"


def call(client: Any, action: str, **params: Any) -> dict[str, Any]:
    return client.call_json(action, params)["Response"]


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def instance(cvm: Any, instance_id: str) -> dict[str, Any]:
    return call(cvm, "DescribeInstances", InstanceIds=[instance_id])["InstanceSet"][0]


def wait_running(cvm: Any, instance_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        inst = instance(cvm, instance_id)
        assert inst["InstanceState"] != "LAUNCH_FAILED", inst["LatestOperationErrorMsg"]
        ready = inst["InstanceState"] == "RUNNING" and inst["LatestOperationState"] != "OPERATING"
        return inst if ready else None

    return wait_for(f"{instance_id} RUNNING", probe)


def wait_image(cvm: Any, image_id: str, region_client: Any = None) -> dict[str, Any]:
    client = region_client or cvm

    def probe() -> dict[str, Any] | None:
        image = call(client, "DescribeImages", ImageIds=[image_id])["ImageSet"][0]
        return image if image["ImageState"] not in ("CREATING", "SYNCING") else None

    return wait_for(f"{image_id} settled", probe)


def ssh(address: str, *, pem: str | None = None, password: str | None = None) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    pkey = paramiko.RSAKey.from_private_key(io.StringIO(pem)) if pem else None
    deadline = time.monotonic() + 45
    while True:
        try:
            client.connect(
                address,
                username="root",
                pkey=pkey,
                password=password,
                look_for_keys=False,
                allow_agent=False,
                timeout=5,
                banner_timeout=10,
            )
            return client
        except paramiko.AuthenticationException:
            raise
        except (OSError, paramiko.SSHException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run(client: paramiko.SSHClient, command: str) -> str:
    _stdin, stdout, _stderr = client.exec_command(command, timeout=30)
    output = stdout.read().decode()
    assert stdout.channel.recv_exit_status() == 0, command
    return output


def retry_in_use(fn: Callable[[], Any], timeout: float = 20.0) -> None:
    """Call ``fn`` until it stops failing with an in-use code (as a builder's cleanup does)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fn()
            return
        except TencentCloudSDKException as exc:
            if exc.code not in ("ResourceInUse", "InvalidKeyPair.NotSupported"):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.fixture
def network(tcloud_emulator: TencentEmulator) -> dict[str, str]:
    cvm, vpc = tcloud_emulator.cvm_client(REGION), tcloud_emulator.vpc_client(REGION)
    key = call(cvm, "CreateKeyPair", KeyName="bake_itest", ProjectId=0)["KeyPair"]
    vpc_id = call(vpc, "CreateVpc", VpcName="bake-itest", CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_id = call(
        vpc,
        "CreateSubnet",
        VpcId=vpc_id,
        SubnetName="bake-itest",
        CidrBlock="10.0.8.0/24",
        Zone=ZONE,
    )["Subnet"]["SubnetId"]
    sg_id = call(vpc, "CreateSecurityGroup", GroupName="bake-itest", GroupDescription="itest")[
        "SecurityGroup"
    ]["SecurityGroupId"]
    call(
        vpc,
        "CreateSecurityGroupPolicies",
        SecurityGroupId=sg_id,
        SecurityGroupPolicySet={
            "Ingress": [
                {"Protocol": "TCP", "Port": "22", "CidrBlock": "0.0.0.0/0", "Action": "ACCEPT"}
            ]
        },
    )
    net = {
        "key_id": key["KeyId"],
        "pem": key["PrivateKey"],
        "vpc_id": vpc_id,
        "subnet_id": subnet_id,
        "sg_id": sg_id,
    }
    yield net
    retry_in_use(lambda: call(vpc, "DeleteSecurityGroup", SecurityGroupId=sg_id))
    retry_in_use(lambda: call(vpc, "DeleteSubnet", SubnetId=subnet_id))
    retry_in_use(lambda: call(vpc, "DeleteVpc", VpcId=vpc_id))
    retry_in_use(lambda: call(cvm, "DeleteKeyPairs", KeyIds=[key["KeyId"]]))


def launch(cvm: Any, net: dict[str, str], image_id: str, **extra: Any) -> str:
    params: dict[str, Any] = {
        "ImageId": image_id,
        "Placement": {"Zone": ZONE},
        "InstanceType": "S5.MEDIUM2",
        "VirtualPrivateCloud": {"VpcId": net["vpc_id"], "SubnetId": net["subnet_id"]},
        "SecurityGroupIds": [net["sg_id"]],
        "InternetAccessible": {"InternetMaxBandwidthOut": 1, "PublicIpAssigned": True},
        "TagSpecification": [
            {"ResourceType": "instance", "Tags": [{"Key": "bake", "Value": "itest"}]}
        ],
        "LoginSettings": {"KeyIds": [net["key_id"]]},
    }
    params.update(extra)
    return call(cvm, "RunInstances", **params)["InstanceIdSet"][0]


def terminate(cvm: Any, instance_id: str) -> None:
    call(cvm, "TerminateInstances", InstanceIds=[instance_id])


def test_bake_cycle_with_real_containers(
    tcloud_emulator: TencentEmulator, network: dict[str, str]
) -> None:
    emu, net = tcloud_emulator, network
    cvm = emu.cvm_client(REGION)
    assert net["pem"].startswith("-----BEGIN RSA PRIVATE KEY-----")

    first = launch(cvm, net, DEBIAN_12_IMAGE_ID, ClientToken="itest-first")
    # ClientToken idempotency: the same token returns the same instance.
    assert launch(cvm, net, DEBIAN_12_IMAGE_ID, ClientToken="itest-first") == first
    inst = wait_running(cvm, first)
    public_ip = inst["PublicIpAddresses"][0]
    assert ipaddress.ip_address(public_ip) in network_pool()
    assert inst["PrivateIpAddresses"][0].startswith("10.0.8.")
    assert inst["LatestOperation"] == "RunInstances"
    assert inst["LatestOperationState"] == "SUCCESS"
    assert inst["Tags"] == [{"Key": "bake", "Value": "itest"}]
    tagged = call(cvm, "DescribeInstances", Filters=[{"Name": "tag:bake", "Values": ["itest"]}])
    assert tagged["TotalCount"] == 1

    with ssh(public_ip, pem=net["pem"]) as client:
        assert "bookworm" in run(client, "cat /etc/os-release")
        run(client, "echo baked-by-itest > /root/baked.txt")

    # The key pair is bound to the instance: it cannot be deleted.
    with pytest.raises(TencentCloudSDKException) as bound:
        call(cvm, "DeleteKeyPairs", KeyIds=[net["key_id"]])
    assert bound.value.code == "InvalidKeyPair.NotSupported"

    # Detach with ForceStop: stop, remove the key, start again.
    call(
        cvm,
        "DisassociateInstancesKeyPairs",
        InstanceIds=[first],
        KeyIds=[net["key_id"]],
        ForceStop=True,
    )
    assert instance(cvm, first)["LatestOperationState"] == "OPERATING"
    inst = wait_running(cvm, first)
    assert inst["LatestOperation"] == "DisassociateInstancesKeyPairs"
    assert inst["LoginSettings"]["KeyIds"] in (None, [])
    with pytest.raises(paramiko.AuthenticationException):
        ssh(inst["PublicIpAddresses"][0], pem=net["pem"]).close()

    # An injected image failure ends in CREATEFAILED; the image can then be deleted.
    emu.faults.fail_image()
    failed_id = call(cvm, "CreateImage", InstanceId=first, ImageName="bake-itest-broken")["ImageId"]
    assert wait_image(cvm, failed_id)["ImageState"] == "CREATEFAILED"
    call(cvm, "DeleteImages", ImageIds=[failed_id])

    image_id = call(
        cvm,
        "CreateImage",
        InstanceId=first,
        ImageName="bake-itest-image",
        ForcePoweroff="true",
        TagSpecification=[{"ResourceType": "image", "Tags": [{"Key": "bake", "Value": "itest"}]}],
    )["ImageId"]
    with pytest.raises(TencentCloudSDKException) as duplicate:
        call(cvm, "CreateImage", InstanceId=first, ImageName="bake-itest-image")
    assert duplicate.value.code in (
        "InvalidImageName.Duplicate",
        "OperationDenied.InstanceOperationInProgress",
    )
    image = wait_image(cvm, image_id)
    assert image["ImageState"] == "NORMAL"
    assert image["ImageType"] == "PRIVATE_IMAGE"
    assert image["Tags"] == [{"Key": "bake", "Value": "itest"}]
    wait_running(cvm, first)
    terminate(cvm, first)

    # A second instance from the new image boots what was baked.
    second = launch(cvm, net, image_id)
    inst = wait_running(cvm, second)
    with ssh(inst["PublicIpAddresses"][0], pem=net["pem"]) as client:
        assert run(client, "cat /root/baked.txt").strip() == "baked-by-itest"
        # Host keys are regenerated per instance, never inherited from the image.
        assert run(client, "ls /etc/ssh/ssh_host_ed25519_key").strip()
    terminate(cvm, second)

    # Copies in another region keep the name; the source is SYNCING meanwhile.
    sync = call(
        cvm,
        "SyncImages",
        ImageIds=[image_id],
        DestinationRegions=["ap-shanghai"],
        ImageSetRequired=True,
    )
    copy_id = sync["ImageSet"][0]["ImageId"]
    assert sync["ImageSet"][0]["Region"] == "ap-shanghai"
    with pytest.raises(TencentCloudSDKException) as syncing:
        call(cvm, "DeleteImages", ImageIds=[image_id])
    assert syncing.value.code == "InvalidImageId.IncorrectState"
    shanghai = emu.cvm_client("ap-shanghai")
    copy = wait_image(cvm, copy_id, shanghai)
    assert copy["ImageState"] == "NORMAL"
    assert copy["ImageName"] == "bake-itest-image"
    assert wait_image(cvm, image_id)["ImageState"] == "NORMAL"

    # Sharing blocks deletion until cancelled.
    call(
        cvm,
        "ModifyImageSharePermission",
        ImageId=image_id,
        AccountIds=["200000000002"],
        Permission="SHARE",
    )
    shared = call(cvm, "DescribeImageSharePermission", ImageId=image_id)["SharePermissionSet"]
    assert [s["AccountId"] for s in shared] == ["200000000002"]
    with pytest.raises(TencentCloudSDKException) as in_shared:
        call(cvm, "DeleteImages", ImageIds=[image_id])
    assert in_shared.value.code == "InvalidImageId.InShared"
    call(
        cvm,
        "ModifyImageSharePermission",
        ImageId=image_id,
        AccountIds=["200000000002"],
        Permission="CANCEL",
    )
    call(cvm, "DeleteImages", ImageIds=[image_id])
    call(shanghai, "DeleteImages", ImageIds=[copy_id])

    # Terminated instances linger TERMINATING, then vanish; their security group stays in use
    # for a moment after that (the network fixture's cleanup retries through ResourceInUse).
    wait_for("instances gone", lambda: call(cvm, "DescribeInstances")["TotalCount"] == 0)
    with pytest.raises(TencentCloudSDKException) as in_use:
        call(emu.vpc_client(REGION), "DeleteSecurityGroup", SecurityGroupId=net["sg_id"])
    assert in_use.value.code == "ResourceInUse"
    assert emu.call_counts["RunInstances"] == 3


def test_password_login_stop_and_start(
    tcloud_emulator: TencentEmulator, network: dict[str, str]
) -> None:
    cvm = tcloud_emulator.cvm_client(REGION)
    with pytest.raises(TencentCloudSDKException) as weak:
        launch(cvm, network, DEBIAN_12_IMAGE_ID, LoginSettings={"Password": "short"})
    assert weak.value.code == "InvalidPassword"
    password = "Bake-itest-2024"
    instance_id = launch(cvm, network, DEBIAN_12_IMAGE_ID, LoginSettings={"Password": password})
    address = wait_running(cvm, instance_id)["PublicIpAddresses"][0]
    ssh(address, password=password).close()

    call(cvm, "StopInstances", InstanceIds=[instance_id])
    with pytest.raises(TencentCloudSDKException) as busy:
        call(cvm, "TerminateInstances", InstanceIds=[instance_id])
    assert busy.value.code == "OperationDenied.InstanceOperationInProgress"
    wait_for("STOPPED", lambda: instance(cvm, instance_id)["InstanceState"] == "STOPPED")
    with pytest.raises(OSError):
        socket.create_connection((address, 22), timeout=2).close()
    call(cvm, "StartInstances", InstanceIds=[instance_id])
    wait_running(cvm, instance_id)
    with ssh(address, password=password) as client:
        assert run(client, "whoami").strip() == "root"
    terminate(cvm, instance_id)


def test_launch_failure_is_reported(
    tcloud_emulator: TencentEmulator, network: dict[str, str]
) -> None:
    cvm = tcloud_emulator.cvm_client(REGION)
    tcloud_emulator.faults.fail_launch(message="ResourceInsufficient: no capacity (injected)")
    instance_id = launch(cvm, network, DEBIAN_12_IMAGE_ID)
    inst = wait_for(
        "LAUNCH_FAILED",
        lambda: (i := instance(cvm, instance_id))["InstanceState"] == "LAUNCH_FAILED" and i,
    )
    assert inst["LatestOperationState"] == "FAILED"
    assert "no capacity" in inst["LatestOperationErrorMsg"]
    assert inst["PublicIpAddresses"] is None
    terminate(cvm, instance_id)

    # A listed public image without a local root cannot be launched, with a clear error.
    with pytest.raises(TencentCloudSDKException) as unsupported:
        launch(cvm, network, "img-9qabwvbn")
    assert unsupported.value.code == "UnsupportedOperation.NotSupportInstanceImage"
    assert "Debian" in unsupported.value.message
