"""The emulated account: regional state, the instance and image state machines, containers.

Actions run under one re-entrant lock and return quickly; slow work (booting a container,
powering it off, copying a root filesystem) runs in background threads that take the lock only
to publish state transitions. ``close()`` waits for those threads, destroys every container and
removes the data directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import shutil
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bakeansible.builders.local.instance import LocalInstance, unmount
from bakeansible.errors import BakeError
from bakeansible.testing.tcloud import firewall
from bakeansible.testing.tcloud import instances as containers
from bakeansible.testing.tcloud.bases import debian_base
from bakeansible.testing.tcloud.catalog import REGIONS
from bakeansible.testing.tcloud.errors import ApiError
from bakeansible.testing.tcloud.faults import Faults
from bakeansible.testing.tcloud.images import LayerStore
from bakeansible.testing.tcloud.signing import KeyPair
from bakeansible.testing.tcloud.state import Image, Instance, RegionState, Subnet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delays:
    """How long the state machines take, in seconds (the real cloud: tens of seconds).

    ``launch``/``stop``/``start``/``terminate``/``image``/``sync`` are minimum durations of the
    transitional states (booting a container may take longer). ``release`` is how long a
    terminated instance keeps its subnet, security group, VPC and key pairs in use after it
    disappeared. ``visibility`` hides a new instance from DescribeInstances for that long.
    """

    launch: float = 0.5
    stop: float = 0.3
    start: float = 0.3
    terminate: float = 0.5
    release: float = 1.5
    image: float = 1.0
    sync: float = 1.0
    visibility: float = 0.0


#: How long a forced stop waits for a clean shutdown before it kills the container.
FORCE_STOP_AFTER = 5.0

#: ``bake emulator --slow``: transitions as long as a small real cloud's, in seconds.
SLOW_DELAYS = Delays(launch=5, stop=3, start=3, terminate=5, release=10, image=10, sync=10)


@dataclass
class Call:
    """One API call as the action handlers see it."""

    cloud: Cloud
    region: RegionState
    request_id: str
    action: str
    params: dict[str, Any]


class Cloud:
    """State and behaviour of one emulated account."""

    def __init__(
        self,
        *,
        data_dir: Path,
        delays: Delays,
        faults: Faults,
        account_id: str,
        image_roots: dict[str, Path],
        keys: dict[str, KeyPair],
    ) -> None:
        self.data_dir = data_dir
        # API keys accepted; AssumeRole adds temporary ones.
        self.keys = keys
        self.delays = delays
        self.faults = faults
        self.account_id = account_id
        self.image_roots = dict(image_roots)
        self.lock = threading.RLock()
        self.regions: dict[str, RegionState] = {}
        self.layers = LayerStore(data_dir / "layers")
        self.instances_dir = data_dir / "instances"
        self.call_counts: Counter[str] = Counter()
        #: Requests per second and action the account may send (0: no limit), like the real
        #: API's per-action limits; ``throttled`` counts the RequestLimitExceeded answers.
        self.rate_limit = 0.0
        self.throttled: Counter[str] = Counter()
        #: (monotonic time, action, number of ids asked for) of each Describe* call by ids.
        self.describe_log: list[tuple[float, str, int]] = []
        self._recent: dict[str, deque[float]] = {}
        #: (task, started, ended) of each finished state machine run (launch, terminate, ...),
        #: monotonic: how long the emulator itself took, for the benchmarks' floor.
        self.task_log: list[tuple[str, float, float]] = []
        # The server's wall clock, for signature expiry (tests skew it).
        self.clock: Callable[[], float] = time.time
        self.closing = threading.Event()
        self._threads: list[threading.Thread] = []

    # Plumbing -----------------------------------------------------------------------------

    def region(self, name: str) -> RegionState:
        if name not in REGIONS:
            raise ApiError("UnsupportedRegion", f"The region `{name}` is not supported.")
        with self.lock:
            if name not in self.regions:
                self.regions[name] = RegionState(name)
            return self.regions[name]

    def throttle(self, action: str) -> bool:
        """Count a request of ``action``; True if it exceeds ``rate_limit`` in the last second."""
        if self.rate_limit <= 0:
            return False
        now = time.monotonic()
        with self.lock:
            recent = self._recent.setdefault(action, deque())
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= self.rate_limit:
                self.throttled[action] += 1
                return True
            recent.append(now)
            return False

    def spawn(self, target: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            started = time.monotonic()
            try:
                target(*args)
            except Exception:
                log.exception("emulator background task %s failed", target.__name__)
            with self.lock:
                self.task_log.append((target.__name__.lstrip("_"), started, time.monotonic()))

        thread = threading.Thread(target=run, name=f"tcloud-{target.__name__}", daemon=True)
        with self.lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.closing.wait(seconds)

    def has_root(self, image: Image) -> bool:
        return bool(image.layers or image.base_root or image.suite or image.id in self.image_roots)

    def _base_root(self, image: Image, instance_id: str) -> str:
        if image.base_root:
            return image.base_root
        if image.id in self.image_roots:
            return str(self.image_roots[image.id])
        assert image.suite is not None
        return str(debian_base(image.suite, instance_id, self.closing))

    # Instances ----------------------------------------------------------------------------

    @staticmethod
    def begin(inst: Instance, operation: str, request_id: str) -> None:
        inst.latest_operation = operation
        inst.latest_operation_state = "OPERATING"
        inst.latest_operation_request_id = request_id
        inst.latest_operation_error = None

    @staticmethod
    def finish(inst: Instance, error: str | None = None) -> None:
        inst.latest_operation_state = "FAILED" if error else "SUCCESS"
        inst.latest_operation_error = error

    def launch(self, region: RegionState, inst: Instance, image: Image, keys: list[str]) -> None:
        """PENDING -> RUNNING once the container booted, or LAUNCH_FAILED."""
        self.spawn(self._launch, region, inst, image, keys)

    def _launch(self, region: RegionState, inst: Instance, image: Image, keys: list[str]) -> None:
        started = time.monotonic()
        error = self.faults.take_launch_failure()
        container = None
        if error is None:
            try:
                base = self._base_root(image, inst.id)
                inst.base_root = base
                container = containers.start(
                    self.layers.lower_dirs(inst.layers, base),
                    self.instances_dir / inst.id,
                    machine=f"tcloud-{inst.id}",
                    authorized_keys=keys,
                    password=inst.password,
                )
                # Filtered before it is RUNNING: no client ever sees it unprotected.
                self._enforce(region, inst, container)
            except Exception as exc:
                log.warning("instance %s failed to boot: %s", inst.id, exc)
                error = f"The instance failed to start: {exc}"
                if container is not None:
                    container.destroy()
                    container = None
        self.sleep(self.delays.launch - (time.monotonic() - started))
        with self.lock:
            if self.closing.is_set() or inst.id not in region.instances:
                if container is not None:
                    container.destroy()
                return
            if error is not None:
                inst.state = "LAUNCH_FAILED"
                self.finish(inst, error)
                return
            assert container is not None
            inst.container = container
            inst.address = container.address
            inst.state = "RUNNING"
            self.finish(inst)

    def stop(self, inst: Instance, request_id: str) -> None:
        with self.lock:
            self.begin(inst, "StopInstances", request_id)
            inst.state = "STOPPING"
        self.spawn(self._power, inst, False)

    def start(self, inst: Instance, request_id: str) -> None:
        with self.lock:
            self.begin(inst, "StartInstances", request_id)
            inst.state = "STARTING"
        self.spawn(self._power, inst, True)

    def _power(self, inst: Instance, on: bool) -> None:
        started = time.monotonic()
        error = None
        try:
            self._switch(inst, on)
        except Exception as exc:
            error = f"{'Starting' if on else 'Stopping'} the instance failed: {exc}"
        self.sleep((self.delays.start if on else self.delays.stop) - (time.monotonic() - started))
        with self.lock:
            if error:
                inst.state = "STOPPED"
            else:
                inst.state = "RUNNING" if on else "STOPPED"
            self.finish(inst, error)

    def _switch(self, inst: Instance, on: bool, stop_timeout: float = 30.0) -> None:
        if inst.container is None:
            return
        if on:
            containers.power_on(inst.container)
            if (region := self._region_of(inst)) is not None:
                self._enforce(region, inst, inst.container)
        else:
            containers.power_off(inst.container, stop_timeout)

    def _region_of(self, inst: Instance) -> RegionState | None:
        with self.lock:
            found = [r for r in self.regions.values() if r.instances.get(inst.id) is inst]
        return found[0] if found else None

    # Security groups ----------------------------------------------------------------------

    def _enforce(self, region: RegionState, inst: Instance, container: LocalInstance) -> None:
        """Load the ingress policies of the instance's groups, in order, into its namespace.

        An instance without a security group is not filtered.
        """
        if not inst.security_group_ids:
            return
        with self.lock:
            policies = [
                dict(policy)
                for group_id in inst.security_group_ids
                if (group := region.security_groups.get(group_id)) is not None
                for policy in group.ingress
            ]
        firewall.enforce(container.netns, policies)

    def security_group_changed(self, region: RegionState, group_id: str) -> None:
        """Apply a group's new policies to every running instance that uses it."""
        for inst in region.live_instances_using("security_group_ids", group_id):
            if inst.container is None:
                continue
            try:
                self._enforce(region, inst, inst.container)
            except BakeError as exc:
                log.error("%s: the rules of %s are not enforced: %s", inst.id, group_id, exc)

    def rekey(
        self, inst: Instance, operation: str, request_id: str, keys: dict[str, str], add: bool
    ) -> None:
        """Associate (``add``) or disassociate key pairs, power-cycling a running instance.

        Only ForceStop reaches here for a running instance: "force shut down after a normal
        shutdown fails", so the clean shutdown gets ``FORCE_STOP_AFTER`` seconds. (A container
        still booting under load may not act on the shutdown request for many seconds.)
        """
        with self.lock:
            self.begin(inst, operation, request_id)
            was_running = inst.state == "RUNNING"
            if was_running:
                inst.state = "STOPPING"
        self.spawn(self._rekey, inst, keys, add, was_running)

    def _rekey(self, inst: Instance, keys: dict[str, str], add: bool, was_running: bool) -> None:
        error = None
        try:
            if was_running:
                self._switch(inst, False, FORCE_STOP_AFTER)
                self.sleep(self.delays.stop)
                with self.lock:
                    inst.state = "STOPPED"
            if inst.container is not None:
                edit = containers.add_keys if add else containers.remove_keys
                edit(inst.container.root, list(keys.values()))
            with self.lock:
                if add:
                    inst.key_ids.extend(k for k in keys if k not in inst.key_ids)
                else:
                    inst.key_ids[:] = [k for k in inst.key_ids if k not in keys]
                if was_running:
                    inst.state = "STARTING"
            if was_running:
                self._switch(inst, True)
                self.sleep(self.delays.start)
        except Exception as exc:
            error = f"Changing the key pairs failed: {exc}"
        with self.lock:
            inst.state = "RUNNING" if was_running and error is None else "STOPPED"
            self.finish(inst, error)

    def terminate(self, region: RegionState, inst: Instance, request_id: str) -> None:
        with self.lock:
            self.begin(inst, "TerminateInstances", request_id)
            inst.state = "TERMINATING"
        self.spawn(self._terminate, region, inst)

    def _terminate(self, region: RegionState, inst: Instance) -> None:
        started = time.monotonic()
        if inst.container is not None:
            inst.container.destroy()
            inst.container = None
        self.sleep(self.delays.terminate - (time.monotonic() - started))
        with self.lock:
            region.instances.pop(inst.id, None)
            subnet = region.subnets.get(inst.subnet_id)
            if subnet is not None:
                subnet.used.discard(inst.private_ip)
            until = time.monotonic() + self.delays.release
            for rid in [inst.vpc_id, inst.subnet_id, *inst.security_group_ids, *inst.key_ids]:
                region.held_until[rid] = max(until, region.held_until.get(rid, 0.0))
        self.layers.release(inst.layers)

    # Images -------------------------------------------------------------------------------

    def create_image(
        self, inst: Instance, image: Image, request_id: str, force_poweroff: bool
    ) -> None:
        with self.lock:
            self.begin(inst, "CreateImage", request_id)
            stop_first = force_poweroff and inst.state == "RUNNING"
            if stop_first:
                inst.state = "STOPPING"
        self.spawn(self._create_image, inst, image, stop_first)

    def _create_image(self, inst: Instance, image: Image, stop_first: bool) -> None:
        started = time.monotonic()
        error = self.faults.take_image_failure()
        layer = None
        try:
            if stop_first:
                self._switch(inst, False)
                with self.lock:
                    inst.state = "STOPPED"
            if error is None:
                assert inst.container is not None
                layer = self.layers.add_from_upper(inst.container.workdir / "upper")
            if stop_first:
                with self.lock:
                    inst.state = "STARTING"
                self._switch(inst, True)
        except Exception as exc:
            log.warning("image %s failed: %s", image.id, exc)
            error = error or f"Creating the image failed: {exc}"
        self.sleep(self.delays.image - (time.monotonic() - started))
        with self.lock:
            if stop_first:
                inst.state = "RUNNING"
            self.finish(inst, error)
            if self.closing.is_set() or error is not None:
                image.state = "CREATEFAILED"
                image.error = error
                if layer is not None:
                    self.layers.discard(layer)
                return
            assert layer is not None
            image.layers = (layer, *inst.layers)
            image.base_root = inst.base_root
            self.layers.acquire(image.layers)
            image.state = "NORMAL"

    def sync_images(self, source: Image, copies: list[Image]) -> None:
        with self.lock:
            source.state = "SYNCING"
            for copy in copies:
                copy.state = "CREATING"
                copy.sync_percent = 0
                self.layers.acquire(copy.layers)
        self.spawn(self._sync, source, copies)

    def _sync(self, source: Image, copies: list[Image]) -> None:
        self.sleep(self.delays.sync)
        with self.lock:
            for copy in copies:
                copy.state = "NORMAL"
                copy.sync_percent = 100
            if source.state == "SYNCING":
                source.state = "NORMAL"

    # Addresses ----------------------------------------------------------------------------

    @staticmethod
    def allocate_private_ip(subnet: Subnet) -> str:
        network = ipaddress.ip_network(subnet.cidr)
        # .0 network, .1 gateway, and the last (broadcast) are reserved, as in the real VPC.
        for offset, host in enumerate(network.hosts()):
            if offset == 0:
                continue
            address = str(host)
            if address not in subnet.used:
                subnet.used.add(address)
                return address
        raise ApiError(
            "FailedOperation.NoAvailableIpAddressCountInSubnet",
            f"Subnet `{subnet.id}` has no free private address left.",
        )

    # Views and shutdown -------------------------------------------------------------------

    def live_resources(self) -> dict[str, dict[str, list[str]]]:
        with self.lock:
            view = {name: r.live_resources() for name, r in sorted(self.regions.items())}
        return {name: res for name, res in view.items() if any(res.values())}

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for background transitions (tests use it before asserting on state)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Stop every state machine, destroy every container, delete the data directory."""
        self.closing.set()
        self.wait_idle(120)
        with self.lock:
            for region in self.regions.values():
                for inst in region.instances.values():
                    if inst.container is not None:
                        with contextlib.suppress(Exception):
                            inst.container.destroy()
                        inst.container = None
        _unmount_below(self.data_dir)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def _unmount_below(root: Path) -> None:
    """Unmount overlays a crashed boot may have left under ``root`` before deleting it."""
    prefix = str(root.resolve()) + "/"
    with Path("/proc/self/mounts").open() as fh:
        points = [line.split()[1] for line in fh if line.split()[1].startswith(prefix)]
    for point in sorted(points, reverse=True):
        with contextlib.suppress(Exception):
            unmount(Path(point))
