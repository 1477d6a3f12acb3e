"""Reading variable values from outside the template: ``-var-file`` files (JSON or YAML) and
``-var name=value`` arguments, and both merged when there is no template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bakeansible.config.decode import describe_value
from bakeansible.config.positions import load_document
from bakeansible.config.variables.declare import VARIABLE_NAME
from bakeansible.errors import ConfigError, ConfigIssue

CLI = "<command line>"


def parse_var_args(
    args: Sequence[str], flag: str = "-var"
) -> tuple[dict[str, str], list[ConfigIssue]]:
    """``-var name=value`` arguments (or ``flag``'s); later ones win."""
    values: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for arg in args:
        name, sep, value = arg.partition("=")
        name = name.strip()
        if not sep or not VARIABLE_NAME.fullmatch(name):
            issues.append(ConfigIssue(CLI, flag, f"expected {flag} name=value, got {arg!r}"))
            continue
        values[name] = value
    return values, issues


def read_var_files(
    paths: Sequence[Path],
) -> tuple[list[tuple[Path, dict[str, Any]]], list[ConfigIssue]]:
    """Each ``-var-file`` (JSON or YAML) as a mapping of names to values."""
    files: list[tuple[Path, dict[str, Any]]] = []
    issues: list[ConfigIssue] = []
    for path in paths:
        try:
            doc = load_document(Path(path), what="variable")
        except ConfigError as exc:
            issues.extend(exc.issues)
            continue
        if not isinstance(doc.data, Mapping):
            issues.append(
                ConfigIssue(
                    str(path),
                    "",
                    "a variable file must be a mapping of names to values, "
                    f"got {describe_value(doc.data)}",
                    1,
                    1,
                )
            )
            continue
        files.append((Path(path), dict(doc.data)))
    return files, issues


def load_var_args(
    var_args: Sequence[str] = (), var_files: Sequence[Path] = (), *, flag: str = "-var"
) -> dict[str, Any]:
    """``-var-file`` then ``-var`` values merged (later wins), for when there is no template
    (``bake --playbook`` without a bake.yml). Raises ``ConfigError`` listing every problem."""
    files, issues = read_var_files(var_files)
    cli_values, cli_issues = parse_var_args(var_args, flag)
    issues += cli_issues
    if issues:
        raise ConfigError(issues)
    values: dict[str, Any] = {}
    for _, data in files:
        values.update(data)
    values.update(cli_values)
    return values
