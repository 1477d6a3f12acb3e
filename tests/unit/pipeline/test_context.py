"""BuildContext: cancellation checks and the cancellable sleep."""

from __future__ import annotations

import threading
import time

import pytest

from bakeansible.errors import BuildCancelled
from bakeansible.pipeline.context import BuildContext


@pytest.fixture
def ctx() -> BuildContext:
    return BuildContext(build_id="b1", build_name="web", builder_type="local")


def test_sleep_sleeps_when_not_cancelled(ctx: BuildContext) -> None:
    started = time.monotonic()
    ctx.sleep(0.1)
    assert time.monotonic() - started >= 0.1
    assert not ctx.cancelled
    ctx.check_cancelled()


def test_sleep_wakes_up_at_once_on_cancel(ctx: BuildContext) -> None:
    threading.Timer(0.05, ctx.cancel_event.set).start()
    started = time.monotonic()
    with pytest.raises(BuildCancelled, match=r"Build was cancelled \(interrupted\)"):
        ctx.sleep(30)
    assert time.monotonic() - started < 5
    assert ctx.cancelled
    with pytest.raises(BuildCancelled):
        ctx.check_cancelled()


def test_each_context_has_its_own_state() -> None:
    a = BuildContext(build_id="a", build_name="a", builder_type="local")
    b = BuildContext(build_id="b", build_name="b", builder_type="local")
    a.cancel_event.set()
    assert not b.cancelled
    assert a.masker is not b.masker
