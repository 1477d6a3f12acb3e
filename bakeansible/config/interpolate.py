"""Packer's legacy template engine: ``{{ function `arg` ... | filter }}`` inside strings.

Supported functions: ``user``, ``env`` (variable defaults only), ``timestamp`` and ``isotime``
(fixed once per run), ``strftime``, ``uuid``, ``build_name``, ``build_type``, ``pwd``,
``template_dir``, ``split``, ``upper``, ``lower``, ``replace``, ``replace_all`` and
``clean_resource_name``. Pipes pass the left value as the last argument, as in Go templates.

Two modes:

* **strict** (Packer JSON templates): every ``{{ }}`` must be a known function, as in Packer.
* **lax** (``bake.yml``): only an expression that parses as a Packer call to a known function with
  the right number of arguments, or that uses a backtick string (which Jinja2 does not have), is
  evaluated; anything else (Jinja2 such as ``{{ ansible_facts.os | lower }}`` or ``{{ item }}``)
  is left untouched for Ansible.

In both modes ``{{ .Path }}``-style expressions belong to the component (shell
``execute_command``, ansible ``inventory_file_template``) and are passed through.
"""

from __future__ import annotations

import difflib
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bakeansible.config.gotime import RFC3339, go_format
from bakeansible.config.positions import Positions, child_path
from bakeansible.errors import ConfigIssue


class InterpolationError(Exception):
    """A template expression that cannot be evaluated."""


class _Defer(Exception):
    """The expression needs data only a build has (``build_name``): keep it as written."""


@dataclass(frozen=True)
class Context:
    """What template functions can see. One ``now`` per run keeps timestamps consistent."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    template_dir: str = "."
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    build_name: str | None = None
    build_type: str | None = None
    allow_env: bool = False
    strict: bool = True

    def for_build(self, name: str, type_name: str) -> Context:
        return _replace(self, build_name=name, build_type=type_name)

    def with_env(self) -> Context:
        return _replace(self, allow_env=True)


def _replace(ctx: Context, **changes: Any) -> Context:
    from dataclasses import replace

    return replace(ctx, **changes)


def clean_resource_name(name: str) -> str:
    """Replace every character but ``[A-Za-z0-9._-]`` (not allowed in image names) by ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", name)


def _user(ctx: Context, name: str) -> str:
    if name not in ctx.variables:
        near = difflib.get_close_matches(name, list(ctx.variables), n=1)
        hint = f"; did you mean `{near[0]}`?" if near else ""
        raise InterpolationError(f"undefined variable `{name}`{hint}")
    value = ctx.variables[name]
    return "" if value is None else str(value)


def _env(ctx: Context, name: str) -> str:
    if not ctx.allow_env:
        raise InterpolationError(
            "`env` is only allowed in variable defaults; declare a variable with "
            f'"{{{{env `{name}`}}}}" as its default and use {{{{user `...`}}}} here'
        )
    return ctx.env.get(name, "")


def _build_value(value: str | None) -> str:
    if value is None:
        raise _Defer
    return value


def _split(_: Context, text: str, sep: str, index: int) -> str:
    parts = text.split(sep)
    if index >= len(parts) or index < 0:
        raise InterpolationError(
            f"split: part {index} is unavailable using separator {sep!r}, "
            f"only {len(parts)} parts were found"
        )
    return parts[index]


def _replace_n(_: Context, old: str, new: str, n: int, text: str) -> str:
    return text.replace(old, new, n if n >= 0 else -1)


def _unsupported(reason: str) -> Callable[..., str]:
    def fail(_: Context, *args: Any) -> str:
        raise InterpolationError(reason)

    return fail


@dataclass(frozen=True)
class _Function:
    impl: Callable[..., str]
    min_args: int
    max_args: int
    int_args: tuple[int, ...] = ()  # positions of arguments that must be integers


FUNCTIONS: dict[str, _Function] = {
    "user": _Function(_user, 1, 1),
    "env": _Function(_env, 1, 1),
    "timestamp": _Function(lambda c: str(int(c.now.timestamp())), 0, 0),
    "isotime": _Function(lambda c, layout=RFC3339: go_format(c.now, layout), 0, 1),
    "strftime": _Function(lambda c, fmt: c.now.strftime(fmt), 1, 1),
    "uuid": _Function(lambda c: str(uuid.uuid4()), 0, 0),
    "build_name": _Function(lambda c: _build_value(c.build_name), 0, 0),
    "build_type": _Function(lambda c: _build_value(c.build_type), 0, 0),
    "pwd": _Function(lambda c: str(Path.cwd()), 0, 0),
    "template_dir": _Function(lambda c: c.template_dir, 0, 0),
    "split": _Function(_split, 3, 3, (2,)),
    "upper": _Function(lambda c, s: s.upper(), 1, 1),
    "lower": _Function(lambda c, s: s.lower(), 1, 1),
    "replace": _Function(_replace_n, 4, 4, (2,)),
    "replace_all": _Function(lambda c, old, new, s: s.replace(old, new), 3, 3),
    "clean_resource_name": _Function(lambda c, s: clean_resource_name(s), 1, 1),
    "sed": _Function(_unsupported("`sed` is deprecated in Packer; use `replace`"), 0, 99),
    "build": _Function(
        _unsupported("`build` is not supported: bake passes build data to provisioners itself"),
        0,
        99,
    ),
}

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_WHOLE_USER = re.compile(r"\{\{\s*user\s+`([^`]*)`\s*\}\}")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<raw>`[^`]*`)
      | (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<pipe>\|)
    )\s*""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Call:
    name: str | None  # None: a literal starting the pipeline
    args: tuple[str | int, ...]


def _parse(inner: str) -> list[_Call] | None:
    """The pipeline in ``inner``, or None when it is not Packer syntax."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(inner):
        match = _TOKEN.match(inner, pos)
        if not match or match.end() == pos:
            return None
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    calls: list[_Call] = []
    current: list[tuple[str, str]] = []
    for token in [*tokens, ("pipe", "|")]:
        if token[0] != "pipe":
            current.append(token)
            continue
        if not current:
            return None
        head_kind, head = current[0]
        args = tuple(_literal(kind, text) for kind, text in current[1:] if kind != "ident")
        if any(kind == "ident" for kind, _ in current[1:]):
            return None
        if head_kind == "ident":
            calls.append(_Call(head, args))
        elif len(current) == 1 and not calls:
            calls.append(_Call(None, (_literal(head_kind, head),)))
        else:
            return None
        current = []
    return calls


def _literal(kind: str, text: str) -> str | int:
    if kind == "raw":
        return text[1:-1]
    if kind == "str":
        return str(_json_unquote(text))
    return int(text)


def _json_unquote(text: str) -> str:
    import json

    try:
        return str(json.loads(text))
    except ValueError:
        return text[1:-1]


def _applies(calls: list[_Call]) -> bool:
    """In lax mode: is this a well-formed call of known functions?"""
    for index, call in enumerate(calls):
        if call.name is None:
            continue
        fn = FUNCTIONS.get(call.name)
        if fn is None or call.name in ("sed", "build"):
            return False
        count = len(call.args) + (1 if index else 0)
        if not fn.min_args <= count <= fn.max_args:
            return False
    return True


def _evaluate(calls: list[_Call], ctx: Context, expr: str) -> str:
    value: str | None = None
    for index, call in enumerate(calls):
        if call.name is None:
            value = str(call.args[0])
            continue
        fn = FUNCTIONS.get(call.name)
        if fn is None:
            near = difflib.get_close_matches(call.name, list(FUNCTIONS), n=1)
            hint = f"; did you mean `{near[0]}`?" if near else ""
            raise InterpolationError(f"unknown template function `{call.name}` in `{expr}`{hint}")
        args: list[Any] = list(call.args)
        if index:
            args.append(value)
        if not fn.min_args <= len(args) <= fn.max_args:
            want = (
                str(fn.min_args)
                if fn.min_args == fn.max_args
                else f"{fn.min_args} to {fn.max_args}"
            )
            raise InterpolationError(
                f"`{call.name}` takes {want} argument(s), got {len(args)} in `{expr}`"
            )
        for i, arg in enumerate(args):
            if i in fn.int_args:
                try:
                    args[i] = int(arg)
                except (TypeError, ValueError):
                    raise InterpolationError(
                        f"`{call.name}` argument {i + 1} must be an integer, got {arg!r}"
                    ) from None
            elif not isinstance(arg, str):
                args[i] = str(arg)
        value = fn.impl(ctx, *args)
    return value or ""


def render(text: str, ctx: Context) -> str:
    """Evaluate every template expression in ``text``; raise ``InterpolationError``."""
    if "{{" not in text:
        return text

    def action(match: re.Match[str]) -> str:
        inner = match.group(1)
        expr = match.group(0)
        if inner.strip().startswith("."):
            return expr
        calls = _parse(inner)
        if calls is None:
            if not ctx.strict:
                return expr
            raise InterpolationError(f"cannot parse template expression `{expr}`")
        # Jinja has no backtick strings: a backtick marks Packer syntax even in lax mode.
        if not ctx.strict and not _applies(calls) and "`" not in inner:
            return expr
        try:
            return _evaluate(calls, ctx, expr)
        except _Defer:
            return expr

    return _ACTION.sub(action, text)


def render_tree(
    data: Any, ctx: Context, *, file: str, path: str, positions: Positions | None
) -> tuple[Any, list[ConfigIssue]]:
    """Interpolate every string in ``data`` (keys stay as written); collect the issues."""
    issues: list[ConfigIssue] = []

    def walk(value: Any, at: str) -> Any:
        if isinstance(value, str):
            whole = _WHOLE_USER.fullmatch(value)
            if whole and not isinstance(ctx.variables.get(whole.group(1)), str | None):
                # A string that is only a variable keeps the variable's type (a list stays a list).
                return ctx.variables[whole.group(1)]
            try:
                return render(value, ctx)
            except InterpolationError as exc:
                pos = positions.value(at) if positions else None
                line, col = pos if pos else (None, None)
                issues.append(ConfigIssue(file, at, str(exc), line, col))
                return value
        if isinstance(value, dict):
            return {k: walk(v, child_path(at, str(k))) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v, child_path(at, i)) for i, v in enumerate(value)]
        return value

    return walk(data, path), issues
