"""One Describe call per wait round for every resource the process waits on, not one per build.

Sixteen builds in one bake each wait on their own instance; asked separately, that is sixteen
DescribeInstances per round. A ``Watcher`` (one per action, endpoint, region and credentials)
collects the waits: when one is due, its thread sends a single call for every id due within
``SLACK`` seconds and hands each waiter its answer. A waiter answered a little early simply
plans its next poll from then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bakeansible.builders.tencentcloud.client import TencentClient
from bakeansible.errors import BuildCancelled

#: A waiter due this many seconds from now joins the round being sent.
SLACK = 1.0
#: The API's limit of ids per Describe call.
MAX_IDS = 100
_MISSING = object()


@dataclass
class _Want:
    ident: str
    due: float
    result: Any = _MISSING
    error: BaseException | None = None
    done: bool = False


@dataclass(frozen=True)
class WatchKind:
    """A batched Describe action: which parameter takes the ids, where the answer lists them."""

    service: str
    action: str
    ids_param: str
    set_field: str
    id_field: str


INSTANCES = WatchKind("cvm", "DescribeInstances", "InstanceIds", "InstanceSet", "InstanceId")
IMAGES = WatchKind("cvm", "DescribeImages", "ImageIds", "ImageSet", "ImageId")


@dataclass
class Watcher:
    """Batches the polls of one kind of resource made through one client (see the module)."""

    client: TencentClient
    kind: WatchKind
    clock: Callable[[], float] = time.monotonic
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _wants: list[_Want] = field(default_factory=list)
    _in_flight: bool = False

    def fetch(self, ident: str, due: float, cancel: threading.Event | None = None) -> Any | None:
        """The resource ``ident`` as listed at ``due`` (clock time) or a little before; None if
        not listed. Raises BuildCancelled when ``cancel`` is set while waiting."""
        want = _Want(ident, due)
        with self._cond:
            self._wants.append(want)
            while True:
                if want.done:
                    return self._answer(want)
                now = self.clock()
                if not self._in_flight and now >= want.due:
                    batch = [w for w in self._wants if w.due <= now + SLACK][:MAX_IDS]
                    if want not in batch:
                        batch = [want, *batch[: MAX_IDS - 1]]
                    for w in batch:
                        self._wants.remove(w)
                    self._in_flight = True
                    break
                if cancel is not None and cancel.is_set():
                    self._wants.remove(want)
                    raise BuildCancelled("interrupted")
                self._cond.wait(min(max(want.due - now, 0.005), 0.2))
        self._send(batch)
        return self._answer(want)

    def _send(self, batch: list[_Want]) -> None:
        ids = list(dict.fromkeys(w.ident for w in batch))
        found: dict[str, Any] = {}
        error: BaseException | None = None
        try:
            k = self.kind
            resp = self.client.call(
                k.service, k.action, {k.ids_param: ids, "Limit": len(ids)}, cancellable=False
            )
            found = {getattr(item, k.id_field): item for item in getattr(resp, k.set_field) or []}
        except Exception as exc:
            error = exc
        with self._cond:
            for w in batch:
                w.result, w.error, w.done = found.get(w.ident), error, True
            self._in_flight = False
            self._cond.notify_all()

    @staticmethod
    def _answer(want: _Want) -> Any | None:
        if want.error is not None:
            raise want.error
        return want.result


_watchers: dict[tuple[str, ...], Watcher] = {}
_lock = threading.Lock()


def watcher(client: TencentClient, kind: WatchKind) -> Watcher:
    """The process's watcher for ``kind`` through ``client``'s endpoint, region and account."""
    creds = client.credentials
    key = (kind.action, client.access.cvm_endpoint, client.region,
           creds.secret_id, creds.secret_key, creds.token or "")  # fmt: skip
    with _lock:
        if key not in _watchers:
            _watchers[key] = Watcher(client, kind)
        return _watchers[key]
