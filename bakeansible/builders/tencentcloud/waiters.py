"""Bounded waits on instance and image states, failing fast on terminal failure states.

Packer polled every 5 s for a fixed 1800/3600 s and only noticed LAUNCH_FAILED or CREATEFAILED
at the timeout. These waits take their timeout from the config and raise at once when the cloud
reports a failure, with the operation's own error message. They poll near the time the same
transition took lately on this endpoint and region, or back off from 0.5 s when that is not
known (``schedule``), and the waits of every build of the process share one Describe call per
round (``watcher``). With a ``Ui`` they show the state and the elapsed time after a few
seconds, on each change and at least every ``PROGRESS_EVERY`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.builders.tencentcloud.schedule import (
    MIN_DELAY,
    Backoff,
    Durations,
    Schedule,
    durations,
)
from bakeansible.builders.tencentcloud.watcher import IMAGES, INSTANCES, watcher
from bakeansible.errors import StepError, WaitTimeout
from bakeansible.pipeline.progress import format_elapsed
from bakeansible.ui import Ui

T = TypeVar("T")
__all__ = ["Backoff", "format_elapsed", "poll"]

#: A resource may not be listed for a short while after it was created (packer#10396).
VISIBILITY_GRACE = 60.0
#: A wait shows its state after this many seconds, then at least every PROGRESS_EVERY seconds.
PROGRESS_FIRST = 5.0
PROGRESS_EVERY = 30.0
#: What a wait learns when its first poll already finds the transition done, as a fraction of
#: the time of that poll.
SHORTER = 0.9


class Sleeper(Protocol):
    """What a wait sleeps with: ``TencentClient.wait`` (raises when the build is cancelled)."""

    def wait(self, seconds: float, cancellable: bool = True) -> None: ...


class WaitProgress:
    """Progress lines of one wait through the build's Ui: ``Waiting for image img-1 (CREATING,
    2m10s)``. The step has just said what it waits for, so the first line comes on the first
    state change or after ``first`` seconds, then on each change and at least every ``every``.

    A wait that plans to poll rarely (it knows the transition takes minutes) polls at ``due()``
    at the latest, so that a line shows at least every ``every`` seconds.
    """

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
        self._said = False
        self._state: str | None = None

    def due(self) -> float:
        """The latest time of the next poll: ``every`` seconds after the last line (or start)."""
        return self._next_line if self._said else self.started + self.every

    def observe(self, state: str, now: float) -> None:
        changed = self._state is not None and state != self._state
        self._state = state
        if changed or now >= self._next_line:
            self._next_line = now + self.every
            self._said = True
            elapsed = format_elapsed(now - self.started)
            self.ui.say(f"Waiting for {self.subject} ({state}, {elapsed})")


@dataclass
class Learn:
    """Where a wait learns its transition's duration: the store and the kind's key."""

    store: Durations
    key: str


def learn_key(client: TencentClient, kind: str) -> str:
    """``endpoint|region|kind``: durations differ between clouds, regions and transitions."""
    return f"{client.access.cvm_endpoint or 'cvm.tencentcloudapi.com'}|{client.region}|{kind}"


def learned(client: TencentClient, kind: str) -> Learn:
    return Learn(durations(), learn_key(client, kind))


def poll(
    client: Sleeper,
    what: str,
    timeout: float,
    probe: Callable[[], tuple[T | None, str]],
    *,
    cancellable: bool = True,
    ui: Ui | None = None,
    subject: str = "",
    backoff: Schedule | None = None,
    learn: Learn | None = None,
    started: float | None = None,
    fetch_at: Callable[[float], tuple[T | None, str]] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``probe`` until it returns a result; it returns (result or None, state shown).

    The schedule is ``backoff`` if given, else what ``learn`` knows of the transition, else a
    ``Backoff``; ``learn`` records how long this one took. ``started`` is when the transition
    began (default: now). ``fetch_at(due)`` replaces sleeping and ``probe`` when the poll is
    shared with other waits (a ``Watcher``): it answers at ``due`` or a little before. With
    ``ui``, shows ``Waiting for <subject> (<state>, <elapsed>)`` as the wait goes on.
    """
    began = clock() if started is None else started
    deadline = began + timeout
    schedule = backoff or (learn.store.schedule(learn.key) if learn else Backoff())
    progress = WaitProgress(ui, subject or what, began) if ui is not None else None
    last_state: str | None = None
    missed: float | None = None  # when the last poll that found it not done was sent
    first_planned = clock() - began <= schedule.first()
    due = max(clock(), began + schedule.first())
    if progress is not None:
        due = min(due, max(progress.due(), clock()))
    while True:
        if fetch_at is not None:
            result, state = fetch_at(min(due, deadline))
        else:
            pause = min(due, deadline) - clock()
            if pause > 0:
                client.wait(pause, cancellable)
            result, state = probe()
        now = clock()
        if result is not None:
            if learn is not None and (missed is not None or first_planned):
                # Midway between the last miss and this hit. A first poll that already hits only
                # says it was shorter: learn less than that, so the schedule creeps down to it.
                hit = now - began
                took = (missed + hit) / 2 if missed is not None else SHORTER * hit
                learn.store.record(learn.key, took)
            return result
        missed = now - began
        changed = last_state is not None and state != last_state
        last_state = state
        if progress is not None:
            progress.observe(state, now)
        if now >= deadline:
            raise WaitTimeout(what, timeout, state)
        due = now + max(MIN_DELAY, schedule.delay(now - began, changed))
        if progress is not None:
            due = min(due, max(progress.due(), now + MIN_DELAY))


def describe_instance(client: TencentClient, instance_id: str, **kw: Any) -> Any | None:
    resp = client.cvm("DescribeInstances", {"InstanceIds": [instance_id]}, **kw)
    return resp.InstanceSet[0] if resp.InstanceSet else None


def watch_instance(
    client: TencentClient, instance_id: str, cancellable: bool
) -> Callable[[float], Any | None]:
    """``due -> instance or None``, through the process's batched DescribeInstances."""
    shared = watcher(client, INSTANCES)
    cancel = client.cancel_event if cancellable else None
    return lambda due: shared.fetch(instance_id, due, cancel)


def wait_instance_running(
    client: TencentClient,
    instance_id: str,
    timeout: float,
    *,
    cancellable: bool = True,
    ui: Ui | None = None,
    kind: str = "launch",
    started: float | None = None,
) -> Any:
    """Until the instance is RUNNING with no operation in progress; LAUNCH_FAILED fails now.

    ``kind`` names the transition for the learned schedule (``launch``, ``detach``).
    """
    first_seen = time.monotonic()
    fetch = watch_instance(client, instance_id, cancellable)

    def check(inst: Any) -> tuple[Any | None, str]:
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

    return poll(client, f"instance {instance_id} to be RUNNING", timeout,
                lambda: check(describe_instance(client, instance_id, cancellable=cancellable)),
                cancellable=cancellable, ui=ui, subject=f"instance {instance_id}",
                learn=learned(client, kind), started=started,
                fetch_at=lambda due: check(fetch(due)))  # fmt: skip


def wait_instance_gone(
    client: TencentClient, instance_id: str, timeout: float, *, ui: Ui | None = None
) -> None:
    """Until DescribeInstances no longer lists the instance (used by cleanups, not cancellable)."""
    fetch = watch_instance(client, instance_id, False)

    def check(inst: Any) -> tuple[bool | None, str]:
        return (True, "gone") if inst is None else (None, str(inst.InstanceState))

    poll(client, f"instance {instance_id} to terminate", timeout,
         lambda: check(describe_instance(client, instance_id, cancellable=False)),
         cancellable=False, ui=ui, subject=f"instance {instance_id}",
         learn=learned(client, "terminate"), fetch_at=lambda due: check(fetch(due)))  # fmt: skip


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
    kind: str = "image",
) -> Any:
    """Until the image is NORMAL; CREATEFAILED (or IMPORTFAILED) fails at once.

    ``kind`` names the transition for the learned schedule (``image``, ``copy``).
    """
    first_seen = time.monotonic()
    shared = watcher(client, IMAGES)
    cancel = client.cancel_event if cancellable else None

    def check(image: Any) -> tuple[Any | None, str]:
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
    return poll(client, what, timeout,
                lambda: check(describe_image(client, image_id, cancellable=cancellable)),
                cancellable=cancellable, ui=ui, subject=subject or f"image {image_id}",
                learn=learned(client, kind),
                fetch_at=lambda due: check(shared.fetch(image_id, due, cancel)))  # fmt: skip


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
