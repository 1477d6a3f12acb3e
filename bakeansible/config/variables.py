"""Template variables: declarations, and their values from every source, by precedence.

Lowest to highest: the template default, ``-var-file`` files (in the order given, later wins),
``BAKE_VAR_<name>`` environment variables, ``-var name=value``. Defaults are template strings:
they may use ``{{env `X`}}`` (only there, as in Packer) and other variables through
``{{user `y`}}``. Values given from outside are taken literally.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bakeansible.config.decode import describe_value, suggest
from bakeansible.config.interpolate import Context, InterpolationError, render
from bakeansible.config.model import Variable
from bakeansible.config.positions import Positions, child_path, load_document
from bakeansible.errors import ConfigError, ConfigIssue

ENV_PREFIX = "BAKE_VAR_"
CLI = "<command line>"
VARIABLE_TYPES = ("string", "number", "bool", "list", "map")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_DECL_KEYS = ("default", "description", "sensitive", "required", "type")


@dataclass(frozen=True)
class VariableDecl:
    """A variable as the template declares it."""

    name: str
    default: Any = None
    description: str = ""
    sensitive: bool = False
    required: bool = False
    type: str = "string"


def _issue(
    file: str, path: str, message: str, positions: Positions | None, key: bool = False
) -> ConfigIssue:
    pos = None
    if positions is not None:
        pos = positions.key(path) if key else positions.value(path)
    line, col = pos if pos else (None, None)
    return ConfigIssue(file, path, message, line, col)


def declare_packer_variables(
    variables: Any, sensitive: Any, *, file: str, positions: Positions | None
) -> tuple[list[VariableDecl], list[ConfigIssue]]:
    """Packer's ``variables`` map (a ``null`` default makes a variable required) and
    ``sensitive-variables`` list."""
    issues: list[ConfigIssue] = []
    decls: list[VariableDecl] = []
    if variables is None:
        variables = {}
    if not isinstance(variables, Mapping):
        issues.append(
            _issue(
                file, "variables", f"expected a mapping, got {describe_value(variables)}", positions
            )
        )
        variables = {}
    secret: set[str] = set()
    if sensitive is not None:
        if not isinstance(sensitive, list) or not all(isinstance(s, str) for s in sensitive):
            issues.append(
                _issue(file, "sensitive-variables", "expected a list of variable names", positions)
            )
        else:
            for i, name in enumerate(sensitive):
                if name not in variables:
                    issues.append(
                        _issue(
                            file,
                            f"sensitive-variables[{i}]",
                            f"`{name}` is not a declared variable{suggest(name, variables)}",
                            positions,
                        )
                    )
            secret = set(sensitive)
    for name, default in variables.items():
        path = child_path("variables", str(name))
        if isinstance(default, Mapping | list):
            issues.append(
                _issue(
                    file,
                    path,
                    f"expected a string default, got {describe_value(default)}",
                    positions,
                )
            )
            continue
        decls.append(
            VariableDecl(
                name=str(name),
                default=_packer_string(default),
                sensitive=name in secret,
                required=default is None,
            )
        )
    return decls, issues


def _packer_string(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def declare_bake_variables(
    variables: Any, *, file: str, positions: Positions | None
) -> tuple[list[VariableDecl], list[ConfigIssue]]:
    """bake.yml ``variables``: ``name: value`` (a default) or ``name: {default, description,
    sensitive, required, type}``. Without a ``default`` a variable is required."""
    issues: list[ConfigIssue] = []
    decls: list[VariableDecl] = []
    if variables is None:
        return decls, issues
    if not isinstance(variables, Mapping):
        issues.append(
            _issue(
                file, "variables", f"expected a mapping, got {describe_value(variables)}", positions
            )
        )
        return decls, issues
    for name, spec in variables.items():
        path = child_path("variables", str(name))
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            issues.append(
                _issue(file, path, f"invalid variable name {name!r}", positions, key=True)
            )
            continue
        if not isinstance(spec, Mapping):
            decls.append(VariableDecl(name, default=spec, type=_infer_type(spec)))
            continue
        bad = False
        for key in spec:
            if key not in _DECL_KEYS:
                issues.append(
                    _issue(
                        file,
                        child_path(path, str(key)),
                        f"unknown key `{key}`{suggest(str(key), _DECL_KEYS)}",
                        positions,
                        key=True,
                    )
                )
                bad = True
        type_name = spec.get("type", _infer_type(spec.get("default")))
        if type_name not in VARIABLE_TYPES:
            issues.append(
                _issue(
                    file,
                    child_path(path, "type"),
                    f"expected one of {', '.join(VARIABLE_TYPES)}, got {describe_value(type_name)}",
                    positions,
                )
            )
            bad = True
        for flag in ("sensitive", "required"):
            if flag in spec and not isinstance(spec[flag], bool):
                issues.append(
                    _issue(
                        file,
                        child_path(path, flag),
                        f"expected true or false, got {describe_value(spec[flag])}",
                        positions,
                    )
                )
                bad = True
        if bad:
            continue
        has_default = "default" in spec and spec["default"] is not None
        default = spec.get("default")
        if has_default:
            default, problem = convert_value(default, type_name)
            if problem:
                issues.append(_issue(file, child_path(path, "default"), problem, positions))
                continue
        decls.append(
            VariableDecl(
                name,
                default=default,
                description=str(spec.get("description", "")),
                sensitive=bool(spec.get("sensitive", False)),
                required=bool(spec.get("required", not has_default)),
                type=type_name,
            )
        )
    return decls, issues


def _infer_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "map"
    return "string"


def convert_value(value: Any, type_name: str) -> tuple[Any, str | None]:
    """``value`` as ``type_name``; strings from the command line are parsed. (value, problem)."""
    if type_name == "string":
        if isinstance(value, str):
            return value, None
        if isinstance(value, bool):
            return str(value).lower(), None
        if isinstance(value, int | float):
            return str(value), None
    elif type_name == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value, None
        if isinstance(value, str):
            for cast in (int, float):
                try:
                    return cast(value.strip()), None
                except ValueError:
                    pass
    elif type_name == "bool":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true", None
    elif type_name in ("list", "map"):
        want = list if type_name == "list" else Mapping
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                pass
        if isinstance(value, want):
            return (list(value) if type_name == "list" else dict(value)), None
    return None, f"expected a {type_name}, got {describe_value(value)}"


def parse_var_args(
    args: Sequence[str], flag: str = "-var"
) -> tuple[dict[str, str], list[ConfigIssue]]:
    """``-var name=value`` arguments (or ``flag``'s); later ones win."""
    values: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for arg in args:
        name, sep, value = arg.partition("=")
        name = name.strip()
        if not sep or not _NAME.fullmatch(name):
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
            issues.append(_issue(file, child_path("variables", name), str(exc), positions))
            done[name] = chosen[name].value
    return done


def _with(ctx: Context, variables: Mapping[str, Any]) -> Context:
    from dataclasses import replace

    return replace(ctx, variables=variables, allow_env=True)


def masked_json(value: Any) -> str:
    """A value as JSON, for printing non-sensitive variables plainly."""
    return json.dumps(value) if not isinstance(value, str) else value
