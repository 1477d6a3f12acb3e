"""Request parameters: schemas, type checks, form/query unflattening, filters and pagination.

A schema is a dict of field name to type: ``str``, ``int``, ``bool``, ``float``, ``ANY``, a
one-element list ``[T]`` for arrays, or a nested dict for structures. ``Required(T)`` marks a
field the real API requires. Fields that exist in the SDK's request model but that the emulator
does not look at are accepted as ``ANY`` (so clients sending them never see ``UnknownParameter``).

JSON bodies are checked strictly (a string where an integer is expected is
``InvalidParameterValue``, like the real API); GET and legacy form requests carry only strings,
so there ``"5"`` becomes 5 and ``"True"``/``"false"`` become booleans.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bakeansible.testing.tcloud.errors import ApiError, invalid_value, missing, unknown_parameter

T = TypeVar("T")


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()


@dataclass(frozen=True)
class Required:
    """A field the request must carry (``MissingParameter`` otherwise)."""

    type: Any


def sdk_fields(model: type) -> set[str]:
    """Parameter names of an SDK model class (its ``_Name`` attributes)."""
    return {name[1:] for name in vars(model()) if name.startswith("_") and name[1:2].isupper()}


def struct(model: type | None, **fields: Any) -> dict[str, Any]:
    """A structure schema: every field of the SDK ``model`` as ANY, overridden by ``fields``."""
    schema: dict[str, Any] = dict.fromkeys(sdk_fields(model), ANY) if model else {}
    schema.update(fields)
    return schema


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``Filters.0.Values.0=x`` -> ``{"Filters": [{"Values": ["x"]}]}`` (GET and form requests)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.split(".")
        node = root
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[parts[-1]] = value
    result: dict[str, Any] = _listify(root)
    return result


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def validate(params: Any, schema: dict[str, Any], *, form: bool, path: str = "") -> dict[str, Any]:
    """Check ``params`` against ``schema``; return them with form strings converted."""
    if not isinstance(params, dict):
        raise invalid_value(path or "body", "expected an object")
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{path}.{key}" if path else key
        if key not in schema:
            raise unknown_parameter(name)
        spec = schema[key]
        if isinstance(spec, Required):
            spec = spec.type
        if value is None:
            continue
        out[key] = _check(value, spec, form=form, name=name)
    for key, spec in schema.items():
        if isinstance(spec, Required) and key not in out:
            raise missing(f"{path}.{key}" if path else key)
    return out


def _check(value: Any, spec: Any, *, form: bool, name: str) -> Any:
    if spec is ANY:
        return value
    if isinstance(spec, list):
        if form and isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise invalid_value(name, "expected an array")
        return [_check(v, spec[0], form=form, name=f"{name}.{i}") for i, v in enumerate(value)]
    if isinstance(spec, dict):
        return validate(value, spec, form=form, path=name)
    if spec is bool:
        if isinstance(value, bool):
            return value
        if form and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid_value(name, "expected a boolean")
    if spec is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if form and isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise invalid_value(name, "expected an integer")
    if spec is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if form and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise invalid_value(name, "expected a number")
    if spec is str:
        if isinstance(value, str):
            return value
        raise invalid_value(name, "expected a string")
    raise AssertionError(f"bad schema type {spec!r}")


# Shared structures ---------------------------------------------------------------------------

FILTER = {"Name": Required(str), "Values": Required([str])}
TAG = {"Key": Required(str), "Value": str}
TAG_SPEC = {"ResourceType": Required(str), "Tags": Required([TAG])}


def tags_from_spec(specs: list[dict[str, Any]] | None, resource_type: str) -> list[dict[str, str]]:
    """The tags of ``TagSpecification`` entries for ``resource_type``."""
    tags: list[dict[str, str]] = []
    for spec in specs or []:
        if spec["ResourceType"] == resource_type:
            tags.extend({"Key": t["Key"], "Value": t.get("Value", "")} for t in spec["Tags"])
    return tags


def plain_tags(tags: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags or []]


# Filters -------------------------------------------------------------------------------------

Getter = Callable[[Any], Sequence[str] | str | None]


def apply_filters(
    items: Iterable[T],
    filters: list[dict[str, Any]] | None,
    getters: dict[str, Getter],
    *,
    fuzzy: frozenset[str] = frozenset(),
    tags: Callable[[T], list[dict[str, str]]] | None = None,
    invalid_code: str = "InvalidFilter",
    max_values: int = 5,
) -> list[T]:
    """Keep the items matching every filter (values of one filter are ORed).

    ``tag-key``, ``tag-value`` and ``tag:<key>`` work for every resource that has ``tags``.
    """
    result = list(items)
    for flt in filters or []:
        name, values = flt["Name"], flt["Values"]
        if len(values) > max_values:
            raise ApiError(
                "InvalidFilterValue.LimitExceeded",
                f"Filter `{name}` has {len(values)} values; at most {max_values} are allowed.",
            )
        if name.startswith("tag:") and tags is not None:
            key = name[4:]
            result = [
                i for i in result if any(t["Key"] == key and t["Value"] in values for t in tags(i))
            ]
        elif name == "tag-key" and tags is not None:
            result = [i for i in result if any(t["Key"] in values for t in tags(i))]
        elif name == "tag-value" and tags is not None:
            result = [i for i in result if any(t["Value"] in values for t in tags(i))]
        elif name in getters:
            getter = getters[name]
            result = [i for i in result if _matches(getter(i), values, name in fuzzy)]
        else:
            raise ApiError(invalid_code, f"The filter `{name}` is not supported.")
    return result


def _matches(actual: Sequence[str] | str | None, wanted: list[str], fuzzy: bool) -> bool:
    if actual is None:
        return False
    candidates = [actual] if isinstance(actual, str) else list(actual)
    for have in candidates:
        for want in wanted:
            if fuzzy:
                if want.lower() in have.lower() or fnmatch.fnmatchcase(have, want):
                    return True
            elif have == want:
                return True
    return False


def paginate(
    items: Sequence[T], offset: Any, limit: Any, *, default: int = 20, maximum: int = 100
) -> list[T]:
    """One page of ``items``. vpc sends Offset/Limit as strings, cvm as integers."""
    off = _as_int(offset, "Offset", 0)
    lim = _as_int(limit, "Limit", default)
    if off < 0:
        raise invalid_value("Offset", "must not be negative")
    if lim < 0 or lim > maximum:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded",
            f"The value of `Limit` must be between 0 and {maximum}.",
        )
    return list(items[off : off + lim])


def _as_int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise invalid_value(name, "expected an integer")
