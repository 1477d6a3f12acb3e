"""JSON Schema (draft 2020-12) for ``bake.yml``, generated from the same config dataclasses the
decoder uses, so editors validate exactly what bake accepts.

Since any value may be a ``{{ ... }}`` template string, numbers and booleans also accept one.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

from bakeansible.config import types as config_types
from bakeansible.config.decode import field_types, is_required
from bakeansible.config.fields import field_aliases, field_doc
from bakeansible.config.model import ON_TEST_FAILURE
from bakeansible.config.variables.declare import VARIABLE_TYPES

SCHEMA_ID = "https://bakeansible.invalid/schema/bake.yml.json"
_TEMPLATED = {"$ref": "#/$defs/template_string"}
_DURATION = {"$ref": "#/$defs/duration"}
_NAMES = {
    "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
    "description": "Build names or glob patterns (a list, or a comma-separated string).",
}


def type_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of one Python type annotation."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return {}
    if origin in (Union, types.UnionType):
        return {"anyOf": [type_schema(a) for a in args]}
    if tp is type(None):
        return {"type": "null"}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (tuple, list) or tp in (tuple, list):
        item = type_schema(args[0]) if args else {}
        # "{{user `list_var`}}" alone in a string stands for the variable's list.
        return {"anyOf": [{"type": "array", "items": item}, _TEMPLATED]}
    if origin is dict or tp is dict:
        value = type_schema(args[1]) if len(args) == 2 else {}
        return {"anyOf": [{"type": "object", "additionalProperties": value}, _TEMPLATED]}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return dataclass_schema(tp)
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"anyOf": [{"type": "boolean"}, _TEMPLATED]}
    if tp is int:
        return {"anyOf": [{"type": "integer"}, _TEMPLATED]}
    if tp is float:
        return {"anyOf": [{"type": "number"}, _DURATION, _TEMPLATED]}
    return {}


_NO_DEFAULT = object()


def _json_default(value: Any) -> Any:
    """``value`` as JSON data, or ``_NO_DEFAULT`` when it has no JSON form."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, tuple | list):
        items = [_json_default(v) for v in value]
        return _NO_DEFAULT if _NO_DEFAULT in items else items
    if isinstance(value, dict):
        mapping = {str(k): _json_default(v) for k, v in value.items()}
        return _NO_DEFAULT if _NO_DEFAULT in mapping.values() else mapping
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return _NO_DEFAULT


def dataclass_properties(cls: type) -> tuple[dict[str, Any], list[str]]:
    """The properties (names and aliases) of a config dataclass, and its required names."""
    hints = field_types(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        schema = type_schema(hints[f.name])
        if field_doc(f):
            schema["description"] = field_doc(f)
        default: Any = _NO_DEFAULT
        if f.default is not dataclasses.MISSING:
            default = _json_default(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _json_default(f.default_factory())
        if default is not _NO_DEFAULT:
            schema["default"] = default
        props[f.name] = schema
        for alias in field_aliases(f):
            props[alias] = {**schema, "description": f"Same as `{f.name}`."}
        if is_required(f):
            required.append(f.name)
    return props, required


def dataclass_schema(cls: type, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object schema for ``cls``; ``extra`` adds common keys such as ``type`` and ``only``."""
    props, required = dataclass_properties(cls)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {**(extra or {}), **props},
        "additionalProperties": False,
    }
    if cls.__doc__:
        schema["description"] = cls.__doc__.strip().splitlines()[0]
    if required:
        schema["required"] = required
    return schema


def _by_type(names: list[str], load: Any, common: dict[str, Any], type_doc: str) -> dict[str, Any]:
    branches = []
    for name in names:
        cls = load(name)
        if cls is None:
            continue
        then = dataclass_schema(cls, {"type": {"const": name}, **common})
        branches.append({"if": {"properties": {"type": {"const": name}}}, "then": then})
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": names, "description": type_doc}},
        "allOf": branches,
    }


def template_schema() -> dict[str, Any]:
    """The schema of a whole ``bake.yml``."""
    provisioner_common = {
        "name": {"type": "string"},
        "only": _NAMES,
        "except": _NAMES,
        "pause_before": {**_DURATION, "description": "Wait before running (10s, 1m)."},
        "timeout": {**_DURATION, "description": "Limit per attempt (0: none)."},
        "max_retries": {"type": "integer", "minimum": 0, "description": "Retries, with backoff."},
        "override": {"type": "object", "description": "Per-build options: {build: {key: value}}."},
    }
    provisioner = _by_type(
        config_types.provisioner_type_names(),
        config_types.provisioner_config_class,
        provisioner_common,
        "Provisioner type.",
    )
    test = _by_type(
        config_types.provisioner_type_names(),
        config_types.provisioner_config_class,
        {
            **provisioner_common,
            "on_test_failure": {
                "enum": list(ON_TEST_FAILURE),
                "default": "delete",
                "description": "When this test fails: delete the new image, or keep it.",
            },
        },
        "Provisioner type run as a test on a fresh instance of the new image.",
    )
    post_processor = _by_type(
        config_types.post_processor_type_names(),
        config_types.post_processor_config_class,
        {"name": {"type": "string"}, "only": _NAMES, "except": _NAMES},
        "Post-processor type.",
    )
    build = _by_type(
        config_types.builder_type_names(),
        config_types.builder_config_class,
        {
            "name": {"type": "string", "description": "Build name (default: the type)."},
            "provisioners": {"type": "array", "items": {"$ref": "#/$defs/provisioner"}},
            "post_processors": {"type": "array", "items": {"$ref": "#/$defs/post_processor"}},
            "tests": {"type": "array", "items": {"$ref": "#/$defs/test"}},
        },
        "Builder type.",
    )
    variable = {
        "anyOf": [
            {"type": ["string", "number", "boolean", "array", "null"]},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "default": {},
                    "description": {"type": "string"},
                    "sensitive": {"type": "boolean"},
                    "required": {"type": "boolean"},
                    "type": {"enum": list(VARIABLE_TYPES)},
                },
            },
        ]
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "bake.yml",
        "type": "object",
        "additionalProperties": False,
        "required": ["builds"],
        "properties": {
            "description": {"type": "string"},
            "variables": {"type": "object", "additionalProperties": variable},
            "builds": {
                "anyOf": [
                    {"type": "array", "items": {"$ref": "#/$defs/build"}, "minItems": 1},
                    {"type": "object", "additionalProperties": {"$ref": "#/$defs/build"}},
                ]
            },
            "provisioners": {"type": "array", "items": {"$ref": "#/$defs/provisioner"}},
            "post_processors": {"type": "array", "items": {"$ref": "#/$defs/post_processor"}},
            "tests": {"type": "array", "items": {"$ref": "#/$defs/test"}},
        },
        "$defs": {
            "build": build,
            "provisioner": provisioner,
            "test": test,
            "post_processor": post_processor,
            "template_string": {"type": "string", "pattern": r"\{\{.*\}\}"},
            "duration": {
                "type": "string",
                "pattern": r"^((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$",
            },
        },
    }
