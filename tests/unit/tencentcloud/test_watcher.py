"""The batched watcher: concurrent waits share one Describe call per round."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from bakeansible.builders.tencentcloud.watcher import INSTANCES, Watcher
from bakeansible.errors import BuildCancelled


class FakeApi:
    """Answers DescribeInstances from a dict of states; records the ids of each call."""

    def __init__(self, states: dict[str, str], fail: Exception | None = None) -> None:
        self.states = states
        self.fail = fail
        self.rounds: list[list[str]] = []
        self.lock = threading.Lock()

    def call(self, service: str, action: str, params: dict[str, Any], **kw: Any) -> Any:
        assert (service, action) == ("cvm", "DescribeInstances")
        assert params["Limit"] == len(params["InstanceIds"])
        with self.lock:
            self.rounds.append(sorted(params["InstanceIds"]))
        if self.fail is not None:
            raise self.fail
        found = [i for i in params["InstanceIds"] if i in self.states]
        items = [SimpleNamespace(InstanceId=i, InstanceState=self.states[i]) for i in found]
        return SimpleNamespace(InstanceSet=items)


def fetch_all(watcher: Watcher, dues: dict[str, float]) -> dict[str, Any]:
    results: dict[str, Any] = {}

    def one(ident: str) -> None:
        results[ident] = watcher.fetch(ident, dues[ident])

    threads = [threading.Thread(target=one, args=(i,)) for i in dues]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_waits_due_together_share_one_call() -> None:
    api = FakeApi({f"ins-{i}": "RUNNING" for i in range(16)})
    watcher = Watcher(api, INSTANCES)  # type: ignore[arg-type]
    now = time.monotonic()
    # Due within the slack of the first one: one round answers all sixteen.
    dues = {f"ins-{i}": now + 0.2 + i * 0.03 for i in range(16)}
    results = fetch_all(watcher, dues)
    assert len(api.rounds) == 1, api.rounds
    assert api.rounds[0] == sorted(dues)
    assert {k: v.InstanceState for k, v in results.items()} == dict.fromkeys(dues, "RUNNING")


def test_waits_far_apart_get_their_own_rounds_and_missing_ids_none() -> None:
    api = FakeApi({"ins-a": "PENDING"})
    watcher = Watcher(api, INSTANCES)  # type: ignore[arg-type]
    now = time.monotonic()
    results = fetch_all(watcher, {"ins-a": now, "ins-b": now + 1.5})
    assert api.rounds == [["ins-a"], ["ins-b"]]
    assert results["ins-a"].InstanceState == "PENDING" and results["ins-b"] is None


def test_an_error_reaches_every_waiter_of_the_round() -> None:
    api = FakeApi({}, fail=RuntimeError("throttled for good"))
    watcher = Watcher(api, INSTANCES)  # type: ignore[arg-type]
    errors: list[str] = []

    def one(ident: str) -> None:
        try:
            watcher.fetch(ident, time.monotonic())
        except RuntimeError as exc:
            errors.append(f"{ident}: {exc}")

    threads = [threading.Thread(target=one, args=(i,)) for i in ("ins-a", "ins-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(errors) == ["ins-a: throttled for good", "ins-b: throttled for good"]


def test_a_cancelled_wait_leaves_at_once_without_a_call() -> None:
    api = FakeApi({"ins-a": "PENDING"})
    watcher = Watcher(api, INSTANCES)  # type: ignore[arg-type]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BuildCancelled):
        watcher.fetch("ins-a", time.monotonic() + 30, cancel)
    assert api.rounds == []
