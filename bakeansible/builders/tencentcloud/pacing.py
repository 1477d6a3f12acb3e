"""What the builds of one bake share with each other when they call the API.

``Pacer``: the API limits each action per account (the documentation gives 10 to 40 requests per
second); sixteen builds starting together would send sixteen DescribeZones at once and be
throttled. Calls wait their turn instead, at most ``CALLS_PER_SECOND`` per action, account and
endpoint, in the whole process.

``Catalog``: the zones and instance types of a region do not change during a bake; every build
of the same region and account reuses the first answer for ``CATALOG_TTL`` seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

#: The lowest per-action limit the API documents ("A maximum of 10 requests can be initiated
#: per second for this API").
CALLS_PER_SECOND = 10
#: The window is longer than a second: the cloud counts arrivals, and a busy network or server
#: bunches requests sent apart (1.1 s still let one through in 345 calls of 16 builds).
WINDOW = 1.5
CATALOG_TTL = 300.0
#: Read-only lookups whose answers every build of a region may share.
CATALOG_ACTIONS = frozenset({"DescribeZones", "DescribeInstanceTypeConfigs"})


class Pacer:
    """At most ``rate`` calls per ``WINDOW`` seconds for each key."""

    def __init__(self, rate: int = CALLS_PER_SECOND, clock: Callable[[], float] = time.monotonic
                 ) -> None:  # fmt: skip
        self.rate = rate
        self.clock = clock
        self._sent: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def reserve(self, key: tuple[str, ...]) -> float:
        """Book the next free slot for ``key``; returns how long to wait before sending."""
        with self._lock:
            now = self.clock()
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - WINDOW:
                sent.popleft()
            at = now if len(sent) < self.rate else sent[-self.rate] + WINDOW
            sent.append(at)
            return max(0.0, at - now)


class Catalog:
    """Answers of ``CATALOG_ACTIONS`` calls, per key and parameters, for ``CATALOG_TTL``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._answers: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], params: dict[str, Any], fetch: Callable[[], Any]) -> Any:
        full = (*key, json.dumps(params, sort_keys=True))
        with self._lock:
            lock = self._locks.setdefault(full, threading.Lock())
        with lock:  # one build asks, the others wait for its answer
            cached = self._answers.get(full)
            if cached is not None and self.clock() - cached[0] < CATALOG_TTL:
                return cached[1]
            answer = fetch()
            self._answers[full] = (self.clock(), answer)
            return answer


PACER = Pacer()
CATALOG = Catalog()
