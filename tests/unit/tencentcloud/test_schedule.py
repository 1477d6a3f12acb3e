"""Learned wait schedules: poll near the expected time, learn from each wait, keep it on disk."""

from __future__ import annotations

import json
from pathlib import Path

from bakeansible.builders.tencentcloud.schedule import (
    Backoff,
    Durations,
    ExpectedSchedule,
    FixedSchedule,
)
from bakeansible.builders.tencentcloud.waiters import Learn, poll
from bakeansible.ui import RecordingUi
from tests.unit.tencentcloud.test_waiters import FakeClock


def run_until(
    clock: FakeClock, done_at: float, learn: Learn | None = None, schedule: object = None
) -> list[float]:
    """Poll a transition that completes ``done_at`` seconds after the wait began; return the
    times (since the start) of the polls."""
    began = clock.now
    polls: list[float] = []

    def probe() -> tuple[str | None, str]:
        polls.append(round(clock.now - began, 3))
        return ("done" if clock.now - began >= done_at else None), "BUSY"

    poll(clock, "x", 3600.0, probe, learn=learn, backoff=schedule, clock=clock)  # type: ignore[arg-type]
    return polls


def test_expected_schedule_polls_first_at_the_usual_time_then_finely() -> None:
    s = ExpectedSchedule(low=9.0, usual=10.0)
    assert s.step == 0.5
    assert s.first() == 10.0
    assert s.delay(4.0, False) == 6.0
    assert s.delay(10.0, False) == 0.5
    assert s.delay(10.9, False) == 0.5  # still within two steps past the usual time
    late = [s.delay(11.0, False) for _ in range(4)]
    assert late[0] < late[1] < late[2] <= 5.5  # running late: back off to the cap


def test_a_ten_second_transition_costs_few_polls_once_learned(tmp_path: Path) -> None:
    store = Durations(tmp_path / "waits.json")
    learn = Learn(store, "ep|region|image")
    # Nothing learned: back off from 0.5 s (0.5, 1.5, 3.5, 7.5, 12.5 s, with jitter).
    cold = run_until(FakeClock(), 10.0, learn, None)
    assert len(cold) >= 5 and cold[-1] >= 10.0
    assert len(store.samples(learn.key)) == 1
    # Learned: from the third wait on, the first poll just before 10 s, the end seen within a
    # fine step, in two or three calls.
    for _ in range(6):
        warm = run_until(FakeClock(), 10.0, learn, None)
    assert len(warm) <= 3, warm
    assert 10.0 <= warm[-1] <= 10.5, warm
    assert warm[0] >= 8.5, warm


def test_learning_follows_a_transition_that_gets_shorter_or_longer(tmp_path: Path) -> None:
    store = Durations(None)
    learn = Learn(store, "k")
    for _ in range(5):
        run_until(FakeClock(), 20.0, learn, None)
    for _ in range(30):  # a first poll that hits learns 10 % less: the median follows slowly
        polls = run_until(FakeClock(), 6.0, learn, None)
        assert len(polls) <= 4, polls  # learning it is shorter costs a few polls, no more
    assert polls[-1] <= 6.5 and len(polls) <= 3, polls
    for _ in range(8):
        polls = run_until(FakeClock(), 12.0, learn, None)
    assert polls[-1] <= 13.2 and len(polls) <= 4, polls  # within two steps (5 % of 12 s)


def test_durations_are_kept_per_key_on_disk_and_bad_files_ignored(tmp_path: Path) -> None:
    path = tmp_path / "state" / "waits.json"
    store = Durations(path)
    for seconds in range(1, 8):
        store.record("a", float(seconds))
    store.record("b", 2.5)
    data = json.loads(path.read_text())
    assert data == {"a": [5.0, 6.0, 7.0], "b": [2.5]}
    again = Durations(path)
    assert isinstance(again.schedule("a"), ExpectedSchedule)
    assert isinstance(again.schedule("unknown"), Backoff)
    for i in range(100):
        again.record(f"emulator-{i}", 1.0)
    kept = json.loads(path.read_text())
    assert len(kept) == 64 and "emulator-99" in kept and "a" not in kept
    path.write_text("{not json")
    assert isinstance(Durations(path).schedule("a"), Backoff)


def test_the_fixed_poller_polls_every_five_seconds() -> None:
    polls = run_until(FakeClock(), 12.0, None, FixedSchedule(5.0))
    assert polls == [0.0, 5.0, 10.0, 15.0]


def test_started_counts_from_the_transition_and_late_waits_do_not_teach(tmp_path: Path) -> None:
    store = Durations(None)
    store.record("release", 10.0)
    clock = FakeClock()
    began = clock.now - 30.0  # the transition began long ago: the first poll hits at once
    calls: list[float] = []

    def probe() -> tuple[str | None, str]:
        calls.append(clock.now)
        return "deleted", "deleted"

    poll(clock, "x", 60.0, probe, learn=Learn(store, "release"), started=began, clock=clock)
    assert calls == [clock.now] and clock.sleeps == []
    assert store.samples("release") == [10.0], "a wait that began late learns nothing"


def test_a_long_learned_wait_still_shows_progress_every_30_seconds() -> None:
    store = Durations(None)
    for _ in range(3):
        store.record("image", 600.0)  # images took ten minutes lately
    clock = FakeClock()
    began = clock.now
    ui = RecordingUi()
    polls: list[float] = []

    def probe() -> tuple[str | None, str]:
        polls.append(clock.now - began)
        return ("done" if clock.now - began >= 600.0 else None), "CREATING"

    poll(clock, "x", 3600.0, probe, ui=ui, subject="image img-1",
         learn=Learn(store, "image"), clock=clock)  # fmt: skip
    stamps = [p for p in polls if p < 600.0]
    assert stamps[0] == 30.0 and len(polls) <= 25, polls
    assert all(b - a <= 30.0 for a, b in zip(stamps, stamps[1:], strict=False))
    assert ui.lines[0] == ("say", "Waiting for image img-1 (CREATING, 30s)")
    assert ui.lines[-1] == ("say", "Waiting for image img-1 (CREATING, 9m30s)")
    assert len(ui.lines) == 19
