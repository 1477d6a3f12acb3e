"""Fault injection: make actions fail, throttle, stall, drop the connection or lose the answer.

``drop`` closes the connection before the action runs (nothing happened); ``lose`` runs the
action and then closes the connection instead of answering (it happened, the caller cannot know).

Rules are consumed in the order they were added; a rule with ``times=None`` applies forever.
Launch and image-creation failures are separate queues consulted by the state machines.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

FAIL = "fail"
DROP = "drop"
LOSE = "lose"
DELAY = "delay"


@dataclass
class FaultRule:
    """One injected fault. ``action``/``region`` of None match any."""

    kind: str
    action: str | None = None
    region: str | None = None
    code: str = "InternalError"
    message: str = "An internal error occurred (injected by the emulator)."
    times: int | None = 1
    seconds: float = 0.0
    hits: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "region": self.region,
            "code": self.code,
            "message": self.message,
            "times": self.times,
            "seconds": self.seconds,
            "hits": self.hits,
        }


@dataclass
class Decision:
    """What the server must do for one request before handling it."""

    delay: float = 0.0
    drop: bool = False
    lose_answer: bool = False  # run the action, then drop the connection
    error: tuple[str, str] | None = None


@dataclass
class Faults:
    """The emulator's fault plan. Thread-safe; also driven by ``POST /_admin/faults``."""

    rules: list[FaultRule] = field(default_factory=list)
    launch_failures: list[str] = field(default_factory=list)
    image_failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(
        self,
        action: str | None,
        code: str = "InternalError",
        *,
        message: str | None = None,
        times: int | None = 1,
        region: str | None = None,
    ) -> FaultRule:
        """Answer ``action`` with error ``code`` ``times`` times (None: always)."""
        rule = FaultRule(FAIL, action, region, code, message or f"Injected failure: {code}.", times)
        return self._add(rule)

    def throttle(
        self,
        times: int,
        *,
        action: str | None = None,
        code: str = "RequestLimitExceeded",
        region: str | None = None,
    ) -> FaultRule:
        """Refuse the next ``times`` matching calls with ``RequestLimitExceeded``."""
        message = "Your current request times exceeds the limit, please try again later."
        return self._add(FaultRule(FAIL, action, region, code, message, times))

    def drop(self, action: str | None, *, times: int | None = 1) -> FaultRule:
        """Close the connection without answering (the SDK raises ClientNetworkError)."""
        return self._add(FaultRule(DROP, action, times=times))

    def lose_answer(self, action: str | None, *, times: int | None = 1) -> FaultRule:
        """Run ``action``, then close the connection without answering: created, answer lost."""
        return self._add(FaultRule(LOSE, action, times=times))

    def delay(self, action: str | None, seconds: float, *, times: int | None = None) -> FaultRule:
        """Answer ``action`` only after ``seconds``."""
        return self._add(FaultRule(DELAY, action, times=times, seconds=seconds))

    def fail_launch(self, times: int = 1, message: str = "Injected launch failure.") -> None:
        """The next ``times`` instances go PENDING -> LAUNCH_FAILED with ``message``."""
        with self._lock:
            self.launch_failures.extend([message] * times)

    def fail_image(self, times: int = 1, message: str = "Injected image failure.") -> None:
        """The next ``times`` CreateImage calls end in CREATEFAILED."""
        with self._lock:
            self.image_failures.extend([message] * times)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.launch_failures.clear()
            self.image_failures.clear()

    def add_from_dict(self, spec: dict[str, Any]) -> None:
        """The admin endpoint's JSON form: ``{"kind": "fail", "action": ..., ...}``."""
        kind = spec.get("kind", FAIL)
        times = spec.get("times", 1)
        if kind == "launch":
            self.fail_launch(int(times or 1), spec.get("message", "Injected launch failure."))
        elif kind == "image":
            self.fail_image(int(times or 1), spec.get("message", "Injected image failure."))
        elif kind == "throttle":
            self.throttle(int(times or 1), action=spec.get("action"), region=spec.get("region"))
        elif kind == DROP:
            self.drop(spec.get("action"), times=times)
        elif kind == LOSE:
            self.lose_answer(spec.get("action"), times=times)
        elif kind == DELAY:
            self.delay(spec.get("action"), float(spec.get("seconds", 1.0)), times=times)
        elif kind == FAIL:
            self.fail(
                spec.get("action"),
                spec.get("code", "InternalError"),
                message=spec.get("message"),
                times=times,
                region=spec.get("region"),
            )
        else:
            raise ValueError(f"unknown fault kind {kind!r}")

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [r.to_dict() for r in self.rules],
                "launch_failures": len(self.launch_failures),
                "image_failures": len(self.image_failures),
            }

    def decide(self, action: str, region: str) -> Decision:
        """Consume the rules matching this call and say what to do."""
        decision = Decision()
        with self._lock:
            for rule in list(self.rules):
                if rule.action not in (None, action) or rule.region not in (None, region):
                    continue
                if rule.kind == DELAY:
                    decision.delay += rule.seconds
                elif decision.drop or decision.lose_answer or decision.error:
                    continue
                elif rule.kind == DROP:
                    decision.drop = True
                elif rule.kind == LOSE:
                    decision.lose_answer = True
                else:
                    decision.error = (rule.code, rule.message)
                rule.hits += 1
                if rule.times is not None and rule.hits >= rule.times:
                    self.rules.remove(rule)
        return decision

    def take_launch_failure(self) -> str | None:
        with self._lock:
            return self.launch_failures.pop(0) if self.launch_failures else None

    def take_image_failure(self) -> str | None:
        with self._lock:
            return self.image_failures.pop(0) if self.image_failures else None

    def _add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
        return rule
