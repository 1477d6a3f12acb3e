"""Turning a mapping from a template into a frozen config dataclass, collecting every problem.

The dataclass is the single source of truth: field names, types, defaults (a field without one is
required), Packer aliases (``opt(aliases=...)``). Values are converted the way Packer's weakly
typed decoder does, so ``"{{user `size`}}"`` that became ``"50"`` still fills an ``int``: numeric
strings become numbers, ``"true"``/``"false"`` booleans, duration strings (``"5m"``) seconds for
``float`` fields, lists tuples. Anything else is an issue naming the file, the line and column,
the field path, what was expected, and for unknown keys the nearest valid one.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from bakeansible.config.durations import parse_duration
from bakeansible.config.fields import field_aliases
from bakeansible.config.positions import Positions, child_path
from bakeansible.errors import ConfigIssue

_INVALID = object()
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of each field of the dataclass ``cls``."""
    return typing.get_type_hints(cls)


def is_required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def accepted_keys(cls: type) -> dict[str, str]:
    """Every key ``cls`` accepts (names and aliases) → the field it fills."""
    table: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        table[f.name] = f.name
        for alias in field_aliases(f):
            table[alias] = f.name
    return table


def suggest(key: str, candidates: typing.Iterable[str]) -> str:
    """``"; did you mean `x`?"`` for the closest candidate, or ``""``."""
    near = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean `{near[0]}`?" if near else ""


def describe_type(tp: Any) -> str:
    """How an error message names what a field expects."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return "any value"
    if origin in (Union, types.UnionType):
        parts = [describe_type(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (tuple, list):
        return f"a list of {_plural(args[0]) if args else 'values'}"
    if origin is dict or tp is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {
        str: "a string",
        int: "an integer",
        float: "a number or a duration like 10s",
        bool: "true or false",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def _plural(tp: Any) -> str:
    return {str: "strings", int: "integers", float: "numbers", bool: "booleans"}.get(
        tp, "values" if tp is Any else "mappings"
    )


def describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class _Decoder:
    def __init__(self, file: str, positions: Positions | None) -> None:
        self.file = file
        self.positions = positions
        self.issues: list[ConfigIssue] = []

    def issue(self, path: str, message: str, *, key: bool = False) -> None:
        pos = None
        if self.positions is not None:
            pos = self.positions.key(path) if key else self.positions.value(path)
        line, col = pos if pos else (None, None)
        self.issues.append(ConfigIssue(self.file, path, message, line, col))

    def wrong(self, path: str, tp: Any, value: Any) -> object:
        self.issue(path, f"expected {describe_type(tp)}, got {describe_value(value)}")
        return _INVALID

    def convert(self, tp: Any, value: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if tp is Any:
            return value
        if origin in (Union, types.UnionType):
            return self._union(tp, args, value, path)
        if origin is Literal:
            if value in args:
                return value
            return self.wrong(path, tp, value)
        if origin in (tuple, list) or tp in (tuple, list):
            return self._sequence(tp, args, value, path)
        if origin is dict or tp is dict:
            return self._mapping(tp, args, value, path)
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            if not isinstance(value, Mapping):
                return self.wrong(path, tp, value)
            return self.dataclass(tp, value, path)
        return self._scalar(tp, value, path)

    def _union(self, tp: Any, args: tuple[Any, ...], value: Any, path: str) -> Any:
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return self.convert(options[0], value, path)
        for option in options:
            trial = _Decoder(self.file, self.positions)
            result = trial.convert(option, value, path)
            if not trial.issues:
                return result
        return self.wrong(path, tp, value)

    def _sequence(self, tp: Any, args: tuple[Any, ...], value: Any, path: str) -> Any:
        if not isinstance(value, list | tuple):
            return self.wrong(path, tp, value)
        item_type = args[0] if args else Any
        items = [self.convert(item_type, v, child_path(path, i)) for i, v in enumerate(value)]
        if any(item is _INVALID for item in items):
            return _INVALID
        return tuple(items)

    def _mapping(self, tp: Any, args: tuple[Any, ...], value: Any, path: str) -> Any:
        if not isinstance(value, Mapping):
            return self.wrong(path, tp, value)
        key_type, value_type = args if args else (Any, Any)
        result: dict[Any, Any] = {}
        for key, item in value.items():
            sub = child_path(path, str(key))
            if key_type is str and not isinstance(key, str):
                self.issue(sub, f"keys must be strings, got {describe_value(key)}", key=True)
                continue
            result[key] = self.convert(value_type, item, sub)
        if any(v is _INVALID for v in result.values()):
            return _INVALID
        return result

    def _scalar(self, tp: Any, value: Any, path: str) -> Any:
        if tp is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            return self.wrong(path, tp, value)
        if tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                try:
                    return int(value.strip())
                except ValueError:
                    pass
            return self.wrong(path, tp, value)
        if tp is float:
            try:
                return parse_duration(value)
            except ValueError:
                return self.wrong(path, tp, value)
        if tp is str:
            if isinstance(value, str):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)
            return self.wrong(path, tp, value)
        if isinstance(tp, type) and isinstance(value, tp):
            return value
        return self.wrong(path, tp, value)

    def dataclass(self, cls: type, data: Mapping[str, Any], path: str) -> Any:
        hints = field_types(cls)
        accepted = accepted_keys(cls)
        given: dict[str, tuple[str, Any]] = {}
        failed = False
        for key, value in data.items():
            sub = child_path(path, str(key))
            if not isinstance(key, str):
                self.issue(sub, f"keys must be strings, got {describe_value(key)}", key=True)
                failed = True
                continue
            name = accepted.get(key)
            if name is None:
                self.issue(sub, f"unknown key `{key}`{suggest(key, accepted)}", key=True)
                failed = True
                continue
            if name in given:
                other = given[name][0]
                self.issue(
                    sub, f"`{key}` and `{other}` are the same option; give only one", key=True
                )
                failed = True
                continue
            given[name] = (key, value)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            if f.name not in given:
                if is_required(f):
                    self.issue(
                        path,
                        f"missing required key `{f.name}` ({describe_type(hints[f.name])})",
                    )
                    failed = True
                continue
            key, value = given[f.name]
            converted = self.convert(hints[f.name], value, child_path(path, key))
            if converted is _INVALID:
                failed = True
            else:
                kwargs[f.name] = converted
        if failed:
            return _INVALID
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            self.issue(path, str(exc))
            return _INVALID


def decode(
    cls: type,
    data: Any,
    *,
    file: str,
    path: str = "",
    positions: Positions | None = None,
) -> tuple[Any | None, list[ConfigIssue]]:
    """Build a ``cls`` instance from ``data``; return it (or None) and every issue found."""
    decoder = _Decoder(file, positions)
    if not isinstance(data, Mapping):
        decoder.issue(path, f"expected a mapping, got {describe_value(data)}")
        return None, decoder.issues
    result = decoder.dataclass(cls, data, path)
    if result is _INVALID:
        return None, decoder.issues
    return result, decoder.issues

