"""Start the temporary instance and wait until it runs; terminate it at cleanup, always."""

from __future__ import annotations

import base64
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

from bakeansible.builders.tencentcloud.client import TencentApiError
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.builders.tencentcloud.context import TAG_HOST_ALIAS, TencentContext
from bakeansible.builders.tencentcloud.resources import delete_instance, find_instances
from bakeansible.builders.tencentcloud.steps.common import cleaning, create, delete_or_report
from bakeansible.builders.tencentcloud.waiters import wait_instance_running
from bakeansible.errors import StepError
from bakeansible.pipeline.context import SshTarget
from bakeansible.pipeline.step import Outcome, Step


def host_name_for(instance_name: str) -> str:
    """Packer's default host name: the instance name cut to 15 characters, ``_`` -> ``-``."""
    return instance_name[:15].replace("_", "-").strip("-.") or "bake"


class StepRunInstance(Step[TencentContext]):
    """Reads the source image, key, VPC, subnet and group; writes ``ctx.instance`` and ``ctx.ssh``
    (and ``ctx.terminated_at`` at cleanup, when it asked to terminate the instance).

    Differences from Packer: a fresh ClientToken per attempt (Packer reused ``instance_name``, so
    a rerun could get the old, terminated instance back); the id is journaled the moment
    RunInstances answers, before waiting; LAUNCH_FAILED fails at once with the operation's error
    message; the wait's timeout is ``instance_ready_timeout``; tags go on the instance too.
    """

    title = "Trying to create a new instance..."

    def __init__(self, config: TencentCvmConfig, instance_name: str) -> None:
        self.config = config
        self.instance_name = instance_name
        self._rid: int | None = None
        self._created = ""
        self._refused = False
        self._sent = False

    def request(self, ctx: TencentContext, client_token: str) -> dict[str, Any]:
        """The RunInstances parameters (no side effect; unit-tested)."""
        c = self.config
        params: dict[str, Any] = {
            "InstanceChargeType": c.instance_charge_type,
            "Placement": {"Zone": c.zone},
            "InstanceType": c.instance_type,
            "ImageId": ctx.source_image.ImageId,
            "SystemDisk": {"DiskType": c.disk_type, "DiskSize": c.disk_size},
            "VirtualPrivateCloud": {"VpcId": ctx.vpc_id, "SubnetId": ctx.subnet_id},
            "InstanceName": self.instance_name,
            "HostName": c.host_name or host_name_for(self.instance_name),
            "SecurityGroupIds": [ctx.security_group_id],
            "ClientToken": client_token,
            "InstanceCount": 1,
            "TagSpecification": [
                {"ResourceType": "instance", "Tags": ctx.tag_list(self._tags(ctx))}
            ],
        }
        if data_disks := self._data_disks(ctx):
            params["DataDisks"] = data_disks
        if c.associate_public_ip_address:
            internet: dict[str, Any] = {
                "PublicIpAssigned": True,
                "InternetMaxBandwidthOut": max(c.internet_max_bandwidth_out, 1),
            }
            if c.internet_charge_type:
                internet["InternetChargeType"] = c.internet_charge_type
            if c.bandwidth_package_id:
                internet["BandwidthPackageId"] = c.bandwidth_package_id
            params["InternetAccessible"] = internet
        if c.ssh_password:
            params["LoginSettings"] = {"Password": c.ssh_password}
        elif ctx.key_id:
            params["LoginSettings"] = {"KeyIds": [ctx.key_id]}
        if user_data := self._user_data():
            params["UserData"] = user_data
        if c.cam_role_name:
            params["CamRoleName"] = c.cam_role_name
        return params

    def _tags(self, ctx: TencentContext) -> dict[str, str]:
        """The instance's tags: run_tags, and the host alias Ansible names it by."""
        tags = dict(self.config.all_run_tags())
        if ctx.host_alias:
            tags[TAG_HOST_ALIAS] = ctx.host_alias
        return tags

    def _data_disks(self, ctx: TencentContext) -> list[dict[str, Any]]:
        c = self.config
        snapshots = [s for s in (ctx.source_image.SnapshotSet or []) if s.DiskUsage == "DATA_DISK"]
        if snapshots:  # the image brings its data disks; Packer ignores data_disks then too
            return [
                {"DiskType": c.disk_type, "DiskSize": s.DiskSize, "SnapshotId": s.SnapshotId}
                for s in snapshots
            ]
        disks = []
        for d in c.data_disks:
            disk: dict[str, Any] = {"DiskType": d.disk_type or c.disk_type, "DiskSize": d.disk_size}
            if d.disk_snapshot_id:
                disk["SnapshotId"] = d.disk_snapshot_id
            disks.append(disk)
        return disks

    def _user_data(self) -> str:
        c = self.config
        data = Path(c.user_data_file).read_bytes() if c.user_data_file else c.user_data.encode()
        return base64.b64encode(data).decode() if data else ""

    def run(self, ctx: TencentContext) -> None:
        token = uuid.uuid4().hex  # one per attempt, reused by the client's retries of this call
        self._rid = ctx.record_intent(
            "tencent.instance", **ctx.journal_data(name=self.instance_name, client_token=token)
        )
        self._sent = True
        try:
            launched = time.monotonic()
            resp = create(ctx, [self._rid], "cvm", "RunInstances", self.request(ctx, token))
        except TencentApiError as exc:
            self._refused = not exc.uncertain
            raise
        ids = list(resp.InstanceIdSet or [])
        if len(ids) != 1:
            raise StepError(f"RunInstances returned {len(ids)} instances instead of 1: {ids}")
        self._created = ctx.instance_id = ids[0]
        ctx.record_created(self._rid, ctx.instance_id)
        ctx.ui.message("Waiting for instance ready")
        inst = wait_instance_running(
            ctx.api,
            ctx.instance_id,
            self.config.instance_ready_timeout,
            ui=ctx.ui,
            started=launched,
        )
        ctx.instance = inst
        ctx.ui.message(f"Instance created: {ctx.instance_id}")
        ctx.ssh = SshTarget(
            host=self.ssh_address(inst),
            port=self.config.ssh_port,
            user=self.config.ssh_username,
            private_key_path=ctx.private_key_path,
            password=self.config.ssh_password or None,
            use_agent=self.config.ssh_agent_auth,
        )

    def ssh_address(self, inst: Any) -> str:
        c = self.config
        if c.ssh_host:
            return c.ssh_host
        public = list(inst.PublicIpAddresses or [])
        private = list(inst.PrivateIpAddresses or [])
        if c.associate_public_ip_address and not c.ssh_private_ip and public:
            return str(public[0])
        if private:
            return str(private[0])
        if public:
            return str(public[0])
        raise StepError(f"Instance {inst.InstanceId} has no address to connect to.")

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        if not self._created and self._sent:
            self._adopt_unanswered(ctx)
        if not self._created:
            return
        ctx.ui.say(cleaning("instance", outcome))
        instance_id = self._created
        # No wait for it to disappear: the deletes of what it used wait for their release.
        delete = partial(delete_instance, ctx.api, instance_id, wait=False)
        if delete_or_report(ctx, "instance", instance_id, self._rid, delete):
            self._created = ""
            ctx.terminated_at = time.monotonic()
        else:
            ctx.instance_left = True

    def _adopt_unanswered(self, ctx: TencentContext) -> None:
        """RunInstances got no answer: find by name and build tag what it may have created."""
        if self._refused:
            return  # the API refused every attempt: nothing was created
        try:
            found = find_instances(ctx.api, self.instance_name, {"tags": ctx.tags})
        except Exception as exc:
            ctx.ui.error(
                f"Could not look for an instance named {self.instance_name}: {exc}. "
                f"'bake cleanup' (build {ctx.build_id}) will find it by its tags."
            )
            return
        if not found:
            ctx.record_gone(self._rid)
            return
        self._created = found[0]
        ctx.record_created(self._rid, found[0])
