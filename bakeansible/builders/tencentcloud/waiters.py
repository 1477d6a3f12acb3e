"""Bounded waits on instance and image states, failing fast on terminal failure states.

Packer polled every 5 s for a fixed 1800/3600 s and only noticed LAUNCH_FAILED or CREATEFAILED
at the timeout. These waits take their timeout from the config, poll quickly at first, and raise
at once when the cloud reports a failure, with the operation's own error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.errors import StepError, WaitTimeout

T = TypeVar("T")

#: A resource may not be listed for a short while after it was created (packer#10396).
VISIBILITY_GRACE = 60.0


def poll_intervals(first: float = 0.5, cap: float = 5.0) -> Iterator[float]:
    """0.5, 0.75, 1.1 ... up to ``cap`` seconds: fast on an emulator, gentle on the cloud."""
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * 1.5)


def poll(
    client: TencentClient,
    what: str,
    timeout: float,
    probe: Callable[[], tuple[T | None, str]],
    *,
    cancellable: bool = True,
) -> T:
    """Call ``probe`` until it returns a result; it returns (result or None, state shown)."""
    deadline = time.monotonic() + timeout
    state = "unknown"
    for delay in poll_intervals():
        result, state = probe()
        if result is not None:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(what, timeout, state)
        client.wait(min(delay, remaining), cancellable)
    raise AssertionError("unreachable")


def describe_instance(client: TencentClient, instance_id: str, **kw: Any) -> Any | None:
    resp = client.cvm("DescribeInstances", {"InstanceIds": [instance_id]}, **kw)
    return resp.InstanceSet[0] if resp.InstanceSet else None


def wait_instance_running(
    client: TencentClient, instance_id: str, timeout: float, *, cancellable: bool = True
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
                cancellable=cancellable)  # fmt: skip


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
    client: TencentClient, image_id: str, timeout: float, *, cancellable: bool = True
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
    return poll(client, what, timeout, probe, cancellable=cancellable)


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
