"""When a wait polls next: back off when nothing is known, poll near the expected time otherwise.

A wait that knows nothing about how long a transition takes can only trade calls for lateness:
polling every ``d`` seconds costs ``D / d`` calls and notices the end ``d / 2`` late on average.
Bake therefore learns (``Durations``) how long each kind of transition took on this endpoint and
region, and the next wait of that kind polls first at the usual (median) recent duration, then
every ``step`` seconds just after it, and backs off only if the transition runs late. A
transition that always takes about ten seconds then costs one to three calls (two on average)
and is noticed within half a second.
"""

from __future__ import annotations

import json
import logging
import os
import random
import statistics
import threading
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

#: Samples kept per kind of transition: few, so that a change of pace is learned in a few waits.
SAMPLES = 3
#: The fine step around the expected time, as a fraction of it, at least ``MIN_STEP`` seconds.
STEP_FRACTION = 0.05
MIN_STEP = 0.5
#: Kinds of transition kept (per endpoint, region and kind); emulators on random ports add up.
KEYS = 64
#: No two polls of a wait closer than this.
MIN_DELAY = 0.05
#: Fine polls past the usual duration before backing off.
FINE_POLLS_PAST = 2


class Schedule(Protocol):
    """The delays of one wait: before the first poll, and after each poll."""

    def first(self) -> float: ...

    def delay(self, elapsed: float, changed: bool) -> float:
        """Seconds until the next poll after a poll ``elapsed`` seconds into the wait;
        ``changed``: the state differs from the previous poll's."""
        ...


class Backoff:
    """Delays between polls: ``first`` doubling up to ``cap``, each scaled by a random factor
    in 1 ± ``jitter`` (so parallel builds do not poll in step); ``reset`` starts over at ``first``.

    Short transitions are noticed quickly, long ones cost about one call per ``cap`` seconds.
    As a ``Schedule`` it polls at once and starts over when the state changes.
    """

    def __init__(
        self,
        first: float = 0.5,
        cap: float = 5.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        self.start, self.cap, self.jitter = first, cap, jitter
        self._rng = rng or random.Random()
        self._base = first

    def reset(self) -> None:
        self._base = self.start

    def next(self) -> float:
        base = self._base
        self._base = min(self.cap, base * 2)
        return base * self._rng.uniform(1 - self.jitter, 1 + self.jitter)

    def first(self) -> float:
        return 0.0

    def delay(self, elapsed: float, changed: bool) -> float:
        if changed:
            self.reset()
        return self.next()


class FixedSchedule:
    """Poll at once, then every ``every`` seconds (Packer's poller; the benchmark's yardstick)."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every

    def first(self) -> float:
        return 0.0

    def delay(self, elapsed: float, changed: bool) -> float:
        return self.every


class ExpectedSchedule:
    """Poll first at ``usual`` seconds, then every ``step`` until ``FINE_POLLS_PAST`` steps
    past it, then back off from ``step`` to ``cap`` (the transition is running late). ``low``,
    the shortest recent duration, sets the step: about four steps from the shortest to the
    usual time."""

    def __init__(self, low: float, usual: float, cap: float = 5.0, jitter: float = 0.1) -> None:
        self.low = max(0.0, low)
        self.usual = max(usual, self.low)
        # Spread samples: about four polls from the shortest to the usual time, no more.
        self.step = max(MIN_STEP, STEP_FRACTION * self.usual, (self.usual - self.low) / 4)
        self._late = Backoff(first=self.step * 2, cap=max(cap, self.step), jitter=jitter)

    @classmethod
    def from_samples(cls, samples: list[float]) -> ExpectedSchedule:
        return cls(low=min(samples), usual=statistics.median(samples))

    def first(self) -> float:
        # At the usual time: most waits end with that one call. One that hits learns a little
        # less (``waiters.SHORTER``), so the next ones poll earlier, miss, and bracket the end
        # within a step again.
        return self.usual

    def delay(self, elapsed: float, changed: bool) -> float:
        if elapsed < self.first() - MIN_DELAY:
            return self.first() - elapsed
        if elapsed < self.usual + FINE_POLLS_PAST * self.step:
            return self.step
        return self._late.next()


class Durations:
    """How long each kind of transition took lately, per endpoint and region, kept in a small
    JSON file (the state directory's ``waits.json``) so that the next bake knows too.

    Shared by every build of the process; concurrent bakes may lose each other's samples, which
    only makes the next schedule a little less informed.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._samples: dict[str, list[float]] | None = None

    def _load(self) -> dict[str, list[float]]:
        if self._samples is None:
            self._samples = {}
            if self.path is not None:
                try:
                    data = json.loads(self.path.read_text())
                    self._samples = {
                        str(k): [float(x) for x in v][-SAMPLES:]
                        for k, v in data.items()
                        if isinstance(v, list)
                    }
                except (OSError, ValueError, TypeError, AttributeError):
                    pass  # none yet, or unreadable: start learning again
        return self._samples

    def samples(self, key: str) -> list[float]:
        with self._lock:
            return list(self._load().get(key, []))

    def schedule(self, key: str) -> Schedule:
        """``ExpectedSchedule`` from what was learned for ``key``, else a ``Backoff``."""
        samples = self.samples(key)
        return ExpectedSchedule.from_samples(samples) if samples else Backoff()

    def record(self, key: str, seconds: float) -> None:
        with self._lock:
            data = self._load()
            data[key] = [*data.pop(key, []), round(seconds, 2)][-SAMPLES:]
            for stale in list(data)[:-KEYS]:  # the least recently learned endpoints go first
                del data[stale]
            if self.path is None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data, sort_keys=True))
                tmp.replace(self.path)
            except OSError as exc:
                log.debug("cannot keep wait durations in %s: %s", self.path, exc)


_durations: dict[Path, Durations] = {}
_durations_lock = threading.Lock()


def durations() -> Durations:
    """The process's ``Durations`` for the state directory: ``state_dir()/waits.json``."""
    from bakeansible.paths import state_dir

    path = state_dir() / "waits.json"
    with _durations_lock:
        if path not in _durations:
            _durations[path] = Durations(path)
        return _durations[path]
