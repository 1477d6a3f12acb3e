"""Process-wide pacing of calls per action, and the shared catalog lookups."""

from __future__ import annotations

from bakeansible.builders.tencentcloud.pacing import WINDOW, Catalog, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_lets_rate_calls_per_window_through_then_spaces_them() -> None:
    clock = Clock()
    pacer = Pacer(rate=10, clock=clock)
    key = ("ep", "AKID", "DescribeZones")
    waits = [round(pacer.reserve(key), 6) for _ in range(25)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:20] == [WINDOW] * 10 and waits[20:] == [round(2 * WINDOW, 6)] * 5
    # Never more than ``rate`` sends in any window, wherever it starts.
    sends = sorted(clock.now + w for w in waits)
    assert all(sum(1 for t in sends if s <= t < s + WINDOW) <= 10 for s in sends)
    assert pacer.reserve(("ep", "AKID", "DescribeImages")) == 0.0  # per action
    clock.now += 10
    assert pacer.reserve(key) == 0.0


def test_the_catalog_asks_once_per_key_and_parameters() -> None:
    clock = Clock()
    catalog = Catalog(clock=clock)
    asked: list[str] = []

    def fetch(answer: str) -> str:
        asked.append(answer)
        return answer

    key = ("cvm", "DescribeZones", "ep", "ap-guangzhou", "AKID")
    assert catalog.get(key, {}, lambda: fetch("a")) == "a"
    assert catalog.get(key, {}, lambda: fetch("b")) == "a"
    assert catalog.get(key, {"Filters": [1]}, lambda: fetch("c")) == "c"
    clock.now += 301
    assert catalog.get(key, {}, lambda: fetch("d")) == "d"
    assert asked == ["a", "c", "d"]
