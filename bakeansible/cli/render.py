"""Terminal rendering: Packer-style per-build prefixes and colours, or machine-readable records.

Every line passes through the run's ``Masker`` first, so no secret reaches the terminal.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from typing import TextIO

import click

from bakeansible.secrets import Masker

COLOURS = ("green", "cyan", "magenta", "yellow", "blue", "bright_green", "bright_cyan")


def machine_escape(text: str) -> str:
    """Packer's machine-readable escaping of one data field."""
    return text.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")


def machine_record(target: str, kind: str, *data: str, now: float | None = None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    return ",".join([stamp, target, kind, *(machine_escape(d) for d in data)])


class Console:
    """Shared output of one bake run: colour, timestamps, machine-readable mode, a lock."""

    def __init__(
        self,
        masker: Masker,
        *,
        color: bool = True,
        timestamps: bool = False,
        machine: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.masker = masker
        self.stream = stream or sys.stdout
        self.color = color and not machine and self.stream.isatty()
        self.timestamps = timestamps
        self.machine = machine
        self._lock = threading.Lock()
        self._next_colour = 0

    def write(self, line: str, *, fg: str | None = None, bold: bool = False) -> None:
        line = self.masker.mask(line)
        if self.timestamps and not self.machine:
            line = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + ": " + line
        if self.color and (fg or bold):
            line = click.style(line, fg=fg, bold=bold)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def record(self, target: str, kind: str, *data: str) -> None:
        with self._lock:
            masked = [self.masker.mask(d) for d in data]
            self.stream.write(machine_record(target, kind, *masked) + "\n")
            self.stream.flush()

    def ui_for(self, build: str) -> BuildUi:
        colour = COLOURS[self._next_colour % len(COLOURS)]
        self._next_colour += 1
        return BuildUi(self, build, colour)


class BuildUi:
    """The Ui of one build: ``==> name: say``, ``    name: message``, errors in red."""

    def __init__(self, console: Console, build: str, colour: str) -> None:
        self.console = console
        self.build = build
        self.colour = colour

    def say(self, text: str) -> None:
        if self.console.machine:
            self.console.record(self.build, "ui", "say", f"==> {self.build}: {text}")
            return
        for line in text.splitlines() or [""]:
            self.console.write(f"==> {self.build}: {line}", fg=self.colour, bold=True)

    def message(self, text: str) -> None:
        if self.console.machine:
            self.console.record(self.build, "ui", "message", f"    {self.build}: {text}")
            return
        for line in text.splitlines() or [""]:
            self.console.write(f"    {self.build}: {line}", fg=self.colour)

    def error(self, text: str) -> None:
        if self.console.machine:
            self.console.record(self.build, "ui", "error", f"==> {self.build}: {text}")
            return
        for line in text.splitlines() or [""]:
            self.console.write(f"==> {self.build}: {line}", fg="red", bold=True)


def human_duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes:
        plural = "s" if minutes != 1 else ""
        return f"{minutes} minute{plural} {secs} second{'s' if secs != 1 else ''}"
    return f"{seconds:.1f} seconds" if seconds < 10 else f"{secs} seconds"
