"""Declaring template variables: a template's ``variables`` block (bake.yml or Packer JSON) read
into ``VariableDecl``s, and the variable types with the conversion of a value to one of them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from bakeansible.config.decode import describe_value, suggest
from bakeansible.config.issues import positioned_issue
from bakeansible.config.positions import Positions, child_path
from bakeansible.errors import ConfigIssue

VARIABLE_TYPES = ("string", "number", "bool", "list", "map")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
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
            positioned_issue(
                file, "variables", f"expected a mapping, got {describe_value(variables)}", positions
            )
        )
        variables = {}
    secret: set[str] = set()
    if sensitive is not None:
        if not isinstance(sensitive, list) or not all(isinstance(s, str) for s in sensitive):
            issues.append(
                positioned_issue(
                    file, "sensitive-variables", "expected a list of variable names", positions
                )
            )
        else:
            for i, name in enumerate(sensitive):
                if name not in variables:
                    issues.append(
                        positioned_issue(
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
                positioned_issue(
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
            positioned_issue(
                file, "variables", f"expected a mapping, got {describe_value(variables)}", positions
            )
        )
        return decls, issues
    for name, spec in variables.items():
        path = child_path("variables", str(name))
        if not isinstance(name, str) or not VARIABLE_NAME.fullmatch(name):
            issues.append(
                positioned_issue(file, path, f"invalid variable name {name!r}", positions, key=True)
            )
            continue
        if not isinstance(spec, Mapping):
            decls.append(VariableDecl(name, default=spec, type=_infer_type(spec)))
            continue
        bad = False
        for key in spec:
            if key not in _DECL_KEYS:
                issues.append(
                    positioned_issue(
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
                positioned_issue(
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
                    positioned_issue(
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
                issues.append(
                    positioned_issue(file, child_path(path, "default"), problem, positions)
                )
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
