"""Typed errors. Library code raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass


class BakeError(Exception):
    """An error the user can act on: a message, and a hint saying what to do next."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found in a template or a variable file."""

    file: str
    path: str  # field path, e.g. builds[1].provisioners[0].inline
    message: str
    line: int | None = None
    column: int | None = None

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ConfigError(BakeError):
    """Invalid configuration; carries every issue found, so the user sees them together."""

    def __init__(self, issues: list[ConfigIssue], hint: str | None = None) -> None:
        self.issues = list(issues)
        lines = [issue.render() for issue in self.issues]
        noun = "error" if len(lines) == 1 else "errors"
        super().__init__(f"{len(lines)} configuration {noun}:\n  " + "\n  ".join(lines), hint)


class PreflightError(BakeError):
    """The host cannot run the build (missing tool, not root, unwritable output...)."""


class StepError(BakeError):
    """A build step failed."""


class BuildCancelled(BakeError):
    """The build was cancelled by a signal or by --fail-fast."""

    def __init__(self, reason: str = "cancelled") -> None:
        super().__init__(f"Build was cancelled ({reason}).")
        self.reason = reason


class WaitTimeout(StepError):
    """A bounded wait ran out; names what was awaited and the last observed state."""

    def __init__(self, what: str, seconds: float, last_state: str, hint: str | None = None) -> None:
        super().__init__(
            f"Timed out after {seconds:.0f}s waiting for {what} (last state: {last_state}).", hint
        )
