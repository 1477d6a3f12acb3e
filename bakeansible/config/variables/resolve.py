"""Resolving template variables: each declared variable's value from every source, by precedence.

Lowest to highest: the template default, ``-var-file`` files (in the order given, later wins),
``BAKE_VAR_<name>`` environment variables, ``-var name=value``. Defaults are template strings:
they may use ``{{env `X`}}`` (only there, as in Packer) and other variables through
``{{user `y`}}``. Values given from outside are taken literally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bakeansible.config.decode import suggest
from bakeansible.config.interpolate import Context, InterpolationError, render
from bakeansible.config.issues import positioned_issue
from bakeansible.config.model import Variable
from bakeansible.config.positions import Positions, child_path
from bakeansible.config.variables.declare import VariableDecl, convert_value
from bakeansible.config.variables.files import CLI, parse_var_args, read_var_files
from bakeansible.errors import ConfigIssue

ENV_PREFIX = "BAKE_VAR_"


@dataclass(frozen=True)
class _Value:
    value: Any
    source: str  # "default", a var file path, "env", "-var"


def resolve_variables(
    decls: Sequence[VariableDecl],
    *,
    var_files: Sequence[Path] = (),
    var_args: Sequence[str] = (),
    env: Mapping[str, str],
    ctx: Context,
    file: str,
    positions: Positions | None = None,
) -> tuple[dict[str, Variable], list[ConfigIssue], list[str]]:
    """Every variable's value. Returns (variables, issues, notes)."""
    issues: list[ConfigIssue] = []
    notes: list[str] = []
    by_name = {d.name: d for d in decls}
    chosen: dict[str, _Value] = {
        d.name: _Value(d.default, "default") for d in decls if d.default is not None
    }
    files, file_issues = read_var_files(var_files)
    issues += file_issues
    for path, data in files:
        for name, value in data.items():
            if name not in by_name:
                notes.append(f"{path}: variable `{name}` is not declared by the template; ignored")
                continue
            chosen[name] = _Value(value, str(path))
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :] in by_name:
            chosen[key[len(ENV_PREFIX) :]] = _Value(value, "env")
    cli_values, cli_issues = parse_var_args(var_args)
    issues += cli_issues
    for name, value in cli_values.items():
        if name not in by_name:
            issues.append(
                ConfigIssue(
                    CLI,
                    f"-var {name}",
                    f"variable `{name}` is not declared by the template{suggest(name, by_name)}",
                )
            )
            continue
        chosen[name] = _Value(value, "-var")

    for name, entry in list(chosen.items()):
        if entry.source in ("default",):
            continue
        value, problem = convert_value(entry.value, by_name[name].type)
        if problem:
            where = entry.source if entry.source not in ("env", "-var") else CLI
            label = f"{ENV_PREFIX}{name}" if entry.source == "env" else name
            issues.append(ConfigIssue(where, label, problem))
            del chosen[name]
        else:
            chosen[name] = _Value(value, entry.source)

    missing = [d.name for d in decls if d.required and d.name not in chosen]
    if missing:
        pos = positions.value("variables") if positions else None
        line, col = pos if pos else (None, None)
        issues.append(
            ConfigIssue(
                file,
                "variables",
                "missing required variable"
                + ("s" if len(missing) > 1 else "")
                + ": "
                + ", ".join(missing)
                + f" (set with -var name=value, -var-file FILE or {ENV_PREFIX}name)",
                line,
                col,
            )
        )

    resolved = _render_defaults(chosen, by_name, ctx, file, positions, issues)
    variables = {
        d.name: Variable(
            name=d.name,
            value=resolved.get(d.name),
            default=d.default,
            description=d.description,
            sensitive=d.sensitive,
            required=d.required,
            type=d.type,
            source=chosen[d.name].source if d.name in chosen else "",
        )
        for d in decls
    }
    return variables, issues, notes


def _render_defaults(
    chosen: dict[str, _Value],
    decls: Mapping[str, VariableDecl],
    ctx: Context,
    file: str,
    positions: Positions | None,
    issues: list[ConfigIssue],
) -> dict[str, Any]:
    """Evaluate the template functions in defaults, following ``{{user}}`` references."""
    done: dict[str, Any] = {}
    active: list[str] = []

    class _Lookup(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            if key not in chosen:
                if key in decls:
                    return ""
                raise KeyError(key)
            return resolve(key)

        def __iter__(self) -> Any:
            return iter(decls)

        def __len__(self) -> int:
            return len(decls)

        def __contains__(self, key: object) -> bool:
            return key in decls

    lookup = _Lookup()
    env_ctx = _with(ctx, lookup)

    def resolve(name: str) -> Any:
        if name in done:
            return done[name]
        entry = chosen[name]
        if entry.source != "default" or not isinstance(entry.value, str) or "{{" not in entry.value:
            done[name] = entry.value
            return entry.value
        if name in active:
            cycle = " -> ".join([*active[active.index(name) :], name])
            raise InterpolationError(f"variables refer to each other in a loop: {cycle}")
        active.append(name)
        try:
            value = render(entry.value, env_ctx)
        finally:
            active.pop()
        done[name] = value
        return value

    for name in chosen:
        try:
            resolve(name)
        except InterpolationError as exc:
            issues.append(
                positioned_issue(file, child_path("variables", name), str(exc), positions)
            )
            done[name] = chosen[name].value
    return done


def _with(ctx: Context, variables: Mapping[str, Any]) -> Context:
    return replace(ctx, variables=variables, allow_env=True)
