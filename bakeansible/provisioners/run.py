"""The steps every builder shares: connect over SSH, then run the provisioners in order."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from bakeansible.communicators.ssh import SshCommunicator, wait_for_ssh
from bakeansible.config.model import ProvisionerSpec
from bakeansible.errors import BakeError, BuildCancelled
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.protocols import Provisioner
from bakeansible.pipeline.step import Outcome, Step
from bakeansible.registry import provisioner_class

log = logging.getLogger(__name__)


def make_provisioners(
    specs: Sequence[ProvisionerSpec], project_dir: Path
) -> list[Provisioner]:
    """Instantiate the provisioners of a build (no side effect)."""
    return [provisioner_class(spec.type)(spec, project_dir) for spec in specs]


class StepPrepareProvisioners(Step[BuildContext]):
    """Runs each provisioner's host-side preparation (galaxy_file installs) before the builder
    creates anything, so an unfetchable requirement fails the build with nothing to delete;
    its cleanup releases what they installed."""

    title = ""

    def __init__(self, provisioners: Sequence[Provisioner]) -> None:
        self.provisioners = list(provisioners)
        self.prepared: list[Provisioner] = []

    def run(self, ctx: BuildContext) -> None:
        for prov in self.provisioners:
            self.prepared.append(prov)
            prov.prepare(ctx)

    def cleanup(self, ctx: BuildContext, outcome: Outcome) -> None:
        for prov in reversed(self.prepared):
            prov.release(ctx)
        self.prepared.clear()


class StepConnectSsh(Step[BuildContext]):
    """Waits until SSH answers on ``ctx.ssh``; reads ctx.ssh, writes ``ctx.comm``."""

    title = "Waiting for SSH to become available..."

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def run(self, ctx: BuildContext) -> None:
        assert ctx.ssh is not None
        ctx.ui.say(f"Using SSH communicator to connect: {ctx.ssh.host}")
        ctx.comm = wait_for_ssh(ctx, ctx.ssh, self.timeout)
        ctx.ui.say("Connected to SSH!")

    def cleanup(self, ctx: BuildContext, outcome: Outcome) -> None:
        if ctx.comm is not None:
            ctx.comm.close()
            ctx.comm = None


class StepProvision(Step[BuildContext]):
    """Runs each provisioner with Packer's controls: pause_before, timeout, max_retries.

    Reads ``ctx.comm``; reconnects (within ``ssh_timeout``) and writes it back when the
    connection dropped, e.g. because a playbook rebooted the instance."""

    title = ""

    def __init__(self, provisioners: Sequence[Provisioner], ssh_timeout: float) -> None:
        self.provisioners = list(provisioners)
        self.ssh_timeout = ssh_timeout

    def run(self, ctx: BuildContext) -> None:
        for prov in self.provisioners:
            spec: ProvisionerSpec = prov.spec
            if ctx.check_mode and not prov.supports_check_mode:
                ctx.ui.say(f"Skipping the {spec.type} provisioner: it has no check mode.")
                continue
            if spec.pause_before:
                ctx.ui.say(f"Pausing {spec.pause_before:.0f}s before the next provisioner...")
                ctx.sleep(spec.pause_before)
            ctx.ui.say(prov.describe())
            attempt = 0
            while True:
                attempt += 1
                deadline = time.monotonic() + spec.timeout if spec.timeout else None
                try:
                    comm = self._comm(ctx)
                    prov.provision(ctx, comm, deadline)
                    break
                except BuildCancelled:
                    raise
                except BakeError as exc:
                    if attempt > spec.max_retries:
                        if spec.max_retries:
                            ctx.ui.error(f"Retry limit ({spec.max_retries}) reached.")
                        raise
                    delay = min(2 ** (attempt - 1), 60)
                    ctx.ui.error(f"Provisioner failed: {exc.message}")
                    ctx.ui.say(
                        f"Retrying provisioner in {delay}s (attempt {attempt + 1} of "
                        f"{spec.max_retries + 1})..."
                    )
                    ctx.sleep(delay)

    def _comm(self, ctx: BuildContext) -> SshCommunicator:
        comm = ctx.comm
        transport = comm.client.get_transport() if comm is not None else None
        if comm is None or transport is None or not transport.is_active():
            assert ctx.ssh is not None
            if comm is not None:
                comm.close()
            comm = ctx.comm = wait_for_ssh(ctx, ctx.ssh, self.ssh_timeout)
        return comm
