"""Unbind the temporary key pair before imaging, so the image does not pin it (packer#7910)."""

from __future__ import annotations

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.waiters import wait_instance_running
from bakeansible.pipeline.step import Step


class StepDetachTempKeyPair(Step[TencentContext]):
    """Reads ``ctx.key_id`` and ``ctx.instance_id``; only acts on a key pair bake created.

    DisassociateInstancesKeyPairs with ForceStop stops the instance, removes the key and starts
    it again; the step waits for RUNNING with no operation in progress (packer#9054).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.title = "Trying to detach keypair..."

    def run(self, ctx: TencentContext) -> None:
        if not ctx.key_created:
            ctx.ui.message("No temporary keypair to detach")
            return
        ctx.ui.message(f"Detaching keypair {ctx.key_id}")
        ctx.api.cvm(
            "DisassociateInstancesKeyPairs",
            {"KeyIds": [ctx.key_id], "InstanceIds": [ctx.instance_id], "ForceStop": True},
        )
        ctx.instance = wait_instance_running(
            ctx.api, ctx.instance_id, self.timeout, ui=ctx.ui, kind="detach"
        )
        ctx.ui.message("Keypair detached")
