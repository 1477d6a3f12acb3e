"""Collecting the problems of a template as it is read, each with its file, key path and position,
and preparing them for display (sorted, without duplicates, secrets masked)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from bakeansible.config.model import Variable
from bakeansible.config.positions import Positions
from bakeansible.errors import ConfigIssue
from bakeansible.secrets import Masker


def positioned_issue(
    file: str, path: str, message: str, positions: Positions | None, key: bool = False
) -> ConfigIssue:
    """An issue at ``path``, with the line and column of its key or value when known."""
    pos = None
    if positions is not None:
        pos = positions.key(path) if key else positions.value(path)
    line, col = pos if pos else (None, None)
    return ConfigIssue(file, path, message, line, col)


@dataclass
class IssueLog:
    """The issues, notes and warnings found while reading one template file."""

    file: str
    positions: Positions
    issues: list[ConfigIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, path: str, message: str, *, key: bool = False) -> None:
        """Record an issue at ``path`` (at its key with ``key``, else at its value)."""
        self.issues.append(positioned_issue(self.file, path, message, self.positions, key))


def mask_issues(
    issues: Sequence[ConfigIssue], variables: Iterable[Variable], secrets: Iterable[str] = ()
) -> list[ConfigIssue]:
    """Issues with the values of sensitive variables (and ``secrets``) replaced by
    ``<sensitive>``."""
    masker = Masker()
    for secret in secrets:
        masker.add(secret)
    for var in variables:
        if var.sensitive and var.value is not None:
            masker.add(str(var.value))
    return [replace(i, message=masker.mask(i.message)) for i in issues]


def sort_issues(issues: Sequence[ConfigIssue]) -> list[ConfigIssue]:
    """Issues without duplicates, by file, then line and column (those without a line last)."""
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (i.file, i.line is None, i.line or 0, i.column or 0))
