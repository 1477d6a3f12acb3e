"""The wait schedule (back-off with jitter, reset on a state change) and the progress lines."""

from __future__ import annotations

import random

import pytest

from bakeansible.builders.tencentcloud.waiters import Backoff, format_elapsed, poll
from bakeansible.errors import WaitTimeout
from bakeansible.ui import RecordingUi


class FakeClock:
    """Time that moves only when the wait sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float, cancellable: bool = True) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_backoff_doubles_to_the_cap_with_bounded_jitter() -> None:
    delays = Backoff(rng=random.Random(7))
    got = [delays.next() for _ in range(8)]
    bases = [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    for delay, base in zip(got, bases, strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    assert len(set(got[4:])) == 4, "jitter varies the delays at the cap"
    # Seeded: the same sequence again.
    again = Backoff(rng=random.Random(7))
    assert [again.next() for _ in range(8)] == got


def test_backoff_without_jitter_and_reset() -> None:
    delays = Backoff(jitter=0.0)
    assert [delays.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    delays.reset()
    assert [delays.next() for _ in range(3)] == [0.5, 1.0, 2.0]


def run_poll(
    clock: FakeClock, observed: list[str], done: str, ui: RecordingUi | None = None
) -> str:
    """Poll a fake resource whose state is the next of ``observed`` on each call."""
    queue = list(observed)

    def probe() -> tuple[str | None, str]:
        state = queue.pop(0)
        return (state if state == done else None), state

    return poll(clock, "thing to be done", 3600.0, probe, ui=ui, subject="image img-1",
                backoff=Backoff(jitter=0.0), clock=clock)  # fmt: skip


def test_poll_backs_off_and_starts_over_on_a_state_change() -> None:
    clock = FakeClock()
    observed = ["A"] * 6 + ["B"] * 3 + ["DONE"]
    assert run_poll(clock, observed, "DONE") == "DONE"
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 0.5, 1.0, 2.0]


def test_poll_times_out_with_the_last_state() -> None:
    clock = FakeClock()

    def probe() -> tuple[None, str]:
        return None, "CREATING"

    with pytest.raises(WaitTimeout, match="CREATING"):
        poll(clock, "image to be NORMAL", 20.0, probe, clock=clock)
    assert sum(clock.sleeps) == pytest.approx(20.0)


def test_progress_on_each_state_change_and_every_30_seconds() -> None:
    clock = FakeClock()
    ui = RecordingUi()
    # PENDING polled at 0, 0.5, 1.5, 3.5, 7.5 s; CREATING from 12.5 s (polls start over: 13, 14,
    # 16, 20, 25, 30 ...); a poll is due 30 s after each line at the latest. The first line after
    # 5 s, then on the change and every 30 s; none at the start (the step said what it waits
    # for) nor at the end.
    observed = ["PENDING"] * 5 + ["CREATING"] * 27 + ["NORMAL"]
    assert run_poll(clock, observed, "NORMAL", ui) == "NORMAL"
    assert ui.lines == [
        ("say", "Waiting for image img-1 (PENDING, 7s)"),
        ("say", "Waiting for image img-1 (CREATING, 12s)"),
        ("say", "Waiting for image img-1 (CREATING, 42s)"),
        ("say", "Waiting for image img-1 (CREATING, 1m12s)"),
        ("say", "Waiting for image img-1 (CREATING, 1m42s)"),
    ]


def test_progress_repeats_every_30_seconds_without_change() -> None:
    clock = FakeClock()

    def probe() -> tuple[str | None, str]:
        return ("ok" if clock.now - 1000.0 > 100 else None), "CREATING"

    class Timed(RecordingUi):
        def say(self, text: str) -> None:
            super().say(f"{clock.now - 1000.0:.1f} {text}")

    timed = Timed()
    poll(clock, "x", 3600.0, probe, ui=timed, subject="image img-1",
         backoff=Backoff(jitter=0.0), clock=clock)  # fmt: skip
    stamps = [float(text.split()[0]) for _, text in timed.lines]
    assert stamps, "no progress line in 100 s"
    assert 5.0 <= stamps[0] <= 10.0
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert all(30.0 <= g <= 35.0 for g in gaps), stamps
    assert 100.0 - stamps[-1] <= 35.0
    assert all("Waiting for image img-1 (CREATING, " in text for _, text in timed.lines)


def test_format_elapsed() -> None:
    assert [format_elapsed(s) for s in (0, 42.9, 60, 130, 3599, 3780)] == [
        "0s",
        "42s",
        "1m00s",
        "2m10s",
        "59m59s",
        "1h03m",
    ]
