"""The channel from a build to whoever renders it.

The library never prints: steps call ``say`` (a step header, ``==> name: ...`` in the terminal),
``message`` (indented detail) and ``error``; the CLI decides colours, prefixes and formats.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol


class Ui(Protocol):
    """What a build can tell its user."""

    def say(self, text: str) -> None: ...

    def message(self, text: str) -> None: ...

    def error(self, text: str) -> None: ...


@dataclass
class RecordingUi:
    """A Ui that keeps every line, for tests and for rendering later."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def say(self, text: str) -> None:
        with self._lock:
            self.lines.append(("say", text))

    def message(self, text: str) -> None:
        with self._lock:
            self.lines.append(("message", text))

    def error(self, text: str) -> None:
        with self._lock:
            self.lines.append(("error", text))

    def text(self) -> str:
        return "\n".join(t for _, t in self.lines)
