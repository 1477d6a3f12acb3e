"""Bounded waits on instance and image states, failing fast on terminal failure states.

Packer polled every 5 s for a fixed 1800/3600 s and only noticed LAUNCH_FAILED or CREATEFAILED
at the timeout. These waits take their timeout from the config, poll quickly at first and back
off (``Backoff``), start over quickly when the state changes, and raise at once when the cloud
reports a failure, with the operation's own error message. With a ``Ui`` they show the state and
the elapsed time after a few seconds, on each change and at least every ``PROGRESS_EVERY``
seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.errors import StepError, WaitTimeout
from bakeansible.ui import Ui

T = TypeVar("T")

#: A resource may not be listed for a short while after it was created (packer#10396).
VISIBILITY_GRACE = 60.0
#: A wait shows its state after this many seconds, then at least every PROGRESS_EVERY seconds.
PROGRESS_FIRST = 5.0
PROGRESS_EVERY = 30.0


class Sleeper(Protocol):
    """What a wait sleeps with: ``TencentClient.wait`` (raises when the build is cancelled)."""

    def wait(self, seconds: float, cancellable: bool = True) -> None: ...


class Backoff:
    """Delays between polls: ``first`` doubling up to ``cap``, each scaled by a random factor
    in 1 ± ``jitter`` (so parallel builds do not poll in step); ``reset`` starts over at ``first``.

    Short transitions are noticed quickly, long ones cost about one call per ``cap`` seconds.
    """

    def __init__(
        self,
        first: float = 0.5,
        cap: float = 5.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.first, self.cap, self.jitter = first, cap, jitter
        self._rng = rng or random.Random()
        self._base = first

    def reset(self) -> None:
        self._base = self.first

    def next(self) -> float:
        base = self._base
        self._base = min(self.cap, base * 2)
        return base * self._rng.uniform(1 - self.jitter, 1 + self.jitter)


def format_elapsed(seconds: float) -> str:
    """``42s``, ``2m10s``, ``1h03m``: how long a wait has lasted, as the progress lines show it."""
    total = int(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


class WaitProgress:
    """Progress lines of one wait through the build's Ui: ``Waiting for image img-1 (CREATING,
    2m10s)``. The step has just said what it waits for, so the first line comes on the first
    state change or after ``first`` seconds, then on each change and at least every ``every``."""

    def __init__(
        self,
        ui: Ui,
        subject: str,
        started: float,
        *,
        first: float = PROGRESS_FIRST,
        every: float = PROGRESS_EVERY,
    ) -> None:
        self.ui, self.subject, self.every = ui, subject, every
        self.started = started
        self._next_line = started + first
        self._state: str | None = None

    def observe(self, state: str, now: float) -> None:
        changed = self._state is not None and state != self._state
        self._state = state
        if changed or now >= self._next_line:
            self._next_line = now + self.every
            elapsed = format_elapsed(now - self.started)
            self.ui.say(f"Waiting for {self.subject} ({state}, {elapsed})")


def poll(
    client: Sleeper,
    what: str,
    timeout: float,
    probe: Callable[[], tuple[T | None, str]],
    *,
    cancellable: bool = True,
    ui: Ui | None = None,
    subject: str = "",
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``probe`` until it returns a result; it returns (result or None, state shown).

    Polls back off while the state stays the same and start over quickly when it changes. With
    ``ui``, shows ``Waiting for <subject> (<state>, <elapsed>)`` as the wait goes on.
    """
    started = clock()
    deadline = started + timeout
    delays = backoff or Backoff()
    progress = WaitProgress(ui, subject or what, started) if ui is not None else None
    last_state: str | None = None
    while True:
        result, state = probe()
        if result is not None:
            return result
        now = clock()
        if state != last_state:
            if last_state is not None:
                delays.reset()
            last_state = state
        if progress is not None:
            progress.observe(state, now)
        remaining = deadline - now
        if remaining <= 0:
            raise WaitTimeout(what, timeout, state)
        client.wait(min(delays.next(), remaining), cancellable)


def describe_instance(client: TencentClient, instance_id: str, **kw: Any) -> Any | None:
    resp = client.cvm("DescribeInstances", {"InstanceIds": [instance_id]}, **kw)
    return resp.InstanceSet[0] if resp.InstanceSet else None


def wait_instance_running(
    client: TencentClient,
    instance_id: str,
    timeout: float,
    *,
    cancellable: bool = True,
    ui: Ui | None = None,
) -> Any:
    """Until the instance is RUNNING with no operation in progress; LAUNCH_FAILED fails now."""
    first_seen = time.monotonic()

    def probe() -> tuple[Any | None, str]:
        inst = describe_instance(client, instance_id, cancellable=cancellable)
        if inst is None:
            if time.monotonic() - first_seen > VISIBILITY_GRACE:
                raise StepError(
                    f"Instance {instance_id} disappeared (DescribeInstances no longer lists it).",
                    hint="It may have been terminated by someone else; run the build again.",
                )
            return None, "not listed yet"
        state = f"{inst.InstanceState}, {inst.LatestOperation}: {inst.LatestOperationState}"
        if inst.InstanceState == "LAUNCH_FAILED" or inst.LatestOperationState == "FAILED":
            reason = inst.LatestOperationErrorMsg or "no reason given"
            raise StepError(
                f"Instance {instance_id} failed ({inst.InstanceState}, "
                f"{inst.LatestOperation}): {reason}",
                hint=f"RequestId of the operation: {inst.LatestOperationRequestId}. "
                "Try another zone or instance_type if resources are sold out.",
            )
        if inst.InstanceState == "RUNNING" and inst.LatestOperationState != "OPERATING":
            return inst, state
        return None, state

    return poll(client, f"instance {instance_id} to be RUNNING", timeout, probe,
                cancellable=cancellable, ui=ui, subject=f"instance {instance_id}")  # fmt: skip


def wait_instance_gone(client: TencentClient, instance_id: str, timeout: float) -> None:
    """Until DescribeInstances no longer lists the instance (used by cleanups, not cancellable)."""

    def probe() -> tuple[bool | None, str]:
        inst = describe_instance(client, instance_id, cancellable=False)
        if inst is None:
            return True, "gone"
        return None, str(inst.InstanceState)

    poll(client, f"instance {instance_id} to terminate", timeout, probe, cancellable=False)


def describe_image(client: TencentClient, image_id: str, **kw: Any) -> Any | None:
    resp = client.cvm("DescribeImages", {"ImageIds": [image_id]}, **kw)
    return resp.ImageSet[0] if resp.ImageSet else None


def wait_image_normal(
    client: TencentClient,
    image_id: str,
    timeout: float,
    *,
    cancellable: bool = True,
    ui: Ui | None = None,
    subject: str = "",
) -> Any:
    """Until the image is NORMAL; CREATEFAILED (or IMPORTFAILED) fails at once."""
    first_seen = time.monotonic()

    def probe() -> tuple[Any | None, str]:
        image = describe_image(client, image_id, cancellable=cancellable)
        if image is None:
            if time.monotonic() - first_seen > VISIBILITY_GRACE:
                raise StepError(f"Image {image_id} in {client.region} disappeared.")
            return None, "not listed yet"
        state = str(image.ImageState)
        if state in ("CREATEFAILED", "IMPORTFAILED"):
            raise StepError(
                f"Image {image_id} in {client.region} failed: {state}.",
                hint="Check the instance's disks and retry; the failed image is removed.",
            )
        if state == "NORMAL":
            return image, state
        return None, state

    what = f"image {image_id} in {client.region} to be NORMAL"
    subject = subject or f"image {image_id}"
    return poll(client, what, timeout, probe, cancellable=cancellable, ui=ui, subject=subject)


def wait_image_settled(client: TencentClient, image_id: str, timeout: float) -> Any | None:
    """For deletion: until the image is no longer CREATING/SYNCING; None once it is gone."""

    def probe() -> tuple[Any | None, str]:
        image = describe_image(client, image_id, cancellable=False)
        if image is None:
            return False, "gone"
        if image.ImageState in ("CREATING", "SYNCING", "IMPORTING"):
            return None, str(image.ImageState)
        return image, str(image.ImageState)

    result = poll(client, f"image {image_id} to settle", timeout, probe, cancellable=False)
    return result or None
