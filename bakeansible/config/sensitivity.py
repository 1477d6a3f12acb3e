"""Which variables are sensitive: declared so, or flowing into a field marked secret.

A Packer template often reads ``TENCENTCLOUD_SECRET_KEY`` into a variable it never lists in
``sensitive-variables`` and passes it on with ``"secret_key": "{{user `tc_secret_key`}}"``. That
variable holds a secret all the same: bake finds every variable a secret field reads (directly,
or through other variables' defaults) and treats it as sensitive everywhere it prints.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from bakeansible.config.decode import field_types
from bakeansible.config.fields import field_aliases, field_secret
from bakeansible.config.interpolate import Context, InterpolationError, render
from bakeansible.config.model import Variable


class _Recorder(Mapping[str, Any]):
    """The variables, noting every name a template expression reads."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._data = values
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def referenced_variables(value: Any, ctx: Context) -> set[str]:
    """The variables the template strings inside ``value`` read."""
    recorder = _Recorder(ctx.variables)
    rec_ctx = replace(ctx, variables=recorder, allow_env=True)
    for text in _strings(value):
        if "{{" in text:
            try:
                render(text, rec_ctx)
            except InterpolationError:
                pass  # reported where the value is really rendered
    return recorder.read


def _dataclass_of(tp: Any) -> type | None:
    """The dataclass in ``tp`` (``X``, ``X | None``, ``tuple[X, ...]``), if any."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp
    for arg in typing.get_args(tp):
        if (found := _dataclass_of(arg)) is not None:
            return found
    return None


def secret_values(cls: type, options: Mapping[str, Any]) -> list[Any]:
    """The raw (not yet interpolated) values given to ``cls``'s secret fields in ``options``,
    also inside nested option blocks."""
    if not dataclasses.is_dataclass(cls):
        return []
    hints = field_types(cls)
    found: list[Any] = []
    for f in dataclasses.fields(cls):
        for key in (f.name, *field_aliases(f)):
            if key not in options:
                continue
            value = options[key]
            if field_secret(f):
                found.append(value)
            elif (inner := _dataclass_of(hints.get(f.name))) is not None:
                items = value if isinstance(value, list | tuple) else [value]
                for item in items:
                    if isinstance(item, Mapping):
                        found += secret_values(inner, item)
    return found


def flowing_into_secrets(
    secrets: Iterable[Any], variables: Mapping[str, Variable], ctx: Context
) -> set[str]:
    """Names of the variables whose values end up in ``secrets`` (raw secret field values),
    following ``{{user}}`` references between variable defaults."""
    values = {name: var.value for name, var in variables.items()}
    base = replace(ctx, variables=values)
    pending = referenced_variables(list(secrets), base) & set(variables)
    found: set[str] = set()
    while pending:
        name = pending.pop()
        found.add(name)
        default = variables[name].default
        if isinstance(default, str) and "{{" in default:
            pending |= (referenced_variables(default, base) & set(variables)) - found
    return found


def mark_sensitive(variables: Mapping[str, Variable], names: Iterable[str]) -> dict[str, Variable]:
    """``variables`` with ``names`` marked sensitive (``sensitive_reason`` says why)."""
    marked = dict(variables)
    for name in names:
        var = marked.get(name)
        if var is not None and not var.sensitive:
            marked[name] = replace(var, sensitive=True, sensitive_reason="used in a secret field")
    return marked
