"""Writing ``bake.yml``: the canonical layout (``bake fmt``) and Packer JSON conversion
(``bake convert``).

Both work on the template source, not the resolved template: ``{{user `x`}}`` and friends stay as
written (``bake.yml`` understands them). PyYAML drops comments, so ``format_yaml`` refuses a file
that has any rather than silently losing them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bakeansible.config.packer_json import TESTS_KEY
from bakeansible.errors import BakeError

TOP_ORDER = ("description", "variables", "builds", "provisioners", "post_processors", "tests")
BUILD_FIRST = ("name", "type")
BUILD_LAST = ("provisioners", "post_processors", "tests")
PROVISIONER_FIRST = ("type", "name", "only", "except", "pause_before", "timeout", "max_retries")
PROVISIONER_LAST = ("override",)
VARIABLE_ORDER = ("type", "default", "description", "required", "sensitive")


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, multi-line strings as ``|`` blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(tuple, lambda d, v: d.represent_list(list(v)))


def dump_yaml(data: Any) -> str:
    """``data`` as block-style YAML, keys in the order given."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


def _ordered(
    data: Mapping[str, Any], first: tuple[str, ...], last: tuple[str, ...] = ()
) -> dict[str, Any]:
    keys = [k for k in first if k in data]
    keys += [k for k in data if k not in first and k not in last]
    keys += [k for k in last if k in data]
    return {k: data[k] for k in keys}


def _entries(
    items: Any, first: tuple[str, ...], last: tuple[str, ...], nested: bool = False
) -> Any:
    if not isinstance(items, list):
        return items
    result = []
    for item in items:
        if not isinstance(item, Mapping):
            result.append(item)
            continue
        entry = _ordered(item, first, last)
        if nested:
            for key in ("provisioners", "tests"):
                if key in entry:
                    entry[key] = _entries(entry[key], PROVISIONER_FIRST, PROVISIONER_LAST)
            if "post_processors" in entry:
                entry["post_processors"] = _entries(entry["post_processors"], ("type", "name"), ())
        result.append(entry)
    return result


def canonical(data: Mapping[str, Any]) -> dict[str, Any]:
    """A bake.yml mapping with its keys in the canonical order."""
    out = _ordered(data, TOP_ORDER)
    if isinstance(out.get("variables"), Mapping):
        out["variables"] = {
            name: _ordered(spec, VARIABLE_ORDER) if isinstance(spec, Mapping) else spec
            for name, spec in out["variables"].items()
        }
    builds = out.get("builds")
    if isinstance(builds, Mapping):
        out["builds"] = {
            name: _ordered(opts, BUILD_FIRST, BUILD_LAST) if isinstance(opts, Mapping) else opts
            for name, opts in builds.items()
        }
    else:
        out["builds"] = _entries(builds, BUILD_FIRST, BUILD_LAST, nested=True)
    if "provisioners" in out:
        out["provisioners"] = _entries(out["provisioners"], PROVISIONER_FIRST, PROVISIONER_LAST)
    if "post_processors" in out:
        out["post_processors"] = _entries(out["post_processors"], ("type", "name"), ())
    if "tests" in out:
        out["tests"] = _entries(out["tests"], PROVISIONER_FIRST, PROVISIONER_LAST)
    if out.get("builds") is None:
        out.pop("builds")
    return out


def leading_comments(text: str) -> str:
    """The comment and blank lines at the top of ``text`` (kept by ``fmt``)."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line)
    return "".join(lines).lstrip("\n")


def first_comment_line(text: str, start: int = 0) -> int | None:
    """The line of the first YAML comment in ``text`` at or after offset ``start``, or None."""
    covered: list[tuple[int, int]] = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            covered.append((token.start_mark.index, token.end_mark.index))
    except yaml.YAMLError:
        return None
    index = text.find("#", start)
    spans = iter(sorted(covered))
    span = next(spans, None)
    while index != -1:
        while span is not None and span[1] <= index:
            span = next(spans, None)
        inside = span is not None and span[0] <= index < span[1]
        if not inside and (index == 0 or text[index - 1] in " \t\n"):
            return text.count("\n", 0, index) + 1
        index = text.find("#", index + 1)
    return None


def format_yaml(text: str, data: Any, *, file: str = "bake.yml") -> str:
    """The canonical text of a bake.yml whose source is ``text`` and parsed form ``data``."""
    header = leading_comments(text)
    line = first_comment_line(text, text.find(header) + len(header) if header else 0)
    if line is not None:
        raise BakeError(
            f"{file}:{line}: bake fmt cannot keep YAML comments yet; not rewriting the file",
            hint="remove the comments, or leave this file unformatted",
        )
    if not isinstance(data, Mapping):
        raise BakeError(f"{file}: a template must be a mapping at the top")
    return header + dump_yaml(canonical(data))


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff between the file as it is and as ``fmt`` would write it."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )


def convert_packer(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A Packer JSON template as an equivalent bake.yml mapping, and notes on what changed."""
    notes: list[str] = []
    out: dict[str, Any] = {}
    if "description" in data:
        out["description"] = data["description"]
    sensitive = set(data.get("sensitive-variables") or ())
    variables: dict[str, Any] = {}
    for name, default in (data.get("variables") or {}).items():
        if default is None or name in sensitive:
            spec: dict[str, Any] = {}
            if default is not None:
                spec["default"] = default
            else:
                spec["required"] = True
            if name in sensitive:
                spec["sensitive"] = True
            variables[name] = spec
        else:
            variables[name] = default
    if variables:
        out["variables"] = variables
    out["builds"] = [
        _ordered({k: v for k, v in b.items() if not str(k).startswith("_")}, BUILD_FIRST)
        for b in data.get("builders") or []
        if isinstance(b, Mapping)
    ]
    if data.get("provisioners"):
        out["provisioners"] = [
            _ordered({k: v for k, v in p.items() if not str(k).startswith("_")}, PROVISIONER_FIRST)
            if isinstance(p, Mapping)
            else p
            for p in data["provisioners"]
        ]
    posts: list[Any] = []
    for item in data.get("post-processors") or []:
        if isinstance(item, list):
            notes.append("a post-processor chain was flattened: bake runs them in order")
        for entry in item if isinstance(item, list) else [item]:
            posts.append({"type": entry} if isinstance(entry, str) else dict(entry))
    if posts:
        out["post_processors"] = posts
    if isinstance(data.get(TESTS_KEY), list):
        out["tests"] = [
            _ordered({k: v for k, v in t.items() if not str(k).startswith("_")}, PROVISIONER_FIRST)
            if isinstance(t, Mapping)
            else t
            for t in data[TESTS_KEY]
        ]
    if "min_packer_version" in data:
        notes.append(f"min_packer_version {data['min_packer_version']!r} dropped")
    dropped = [k for k in data if str(k).startswith("_") and k != TESTS_KEY]
    if dropped:
        notes.append("comment keys dropped: " + ", ".join(dropped))
    return out, notes


def convert_text(data: Mapping[str, Any], source: Path | str) -> str:
    """The bake.yml text for a Packer template, with a header naming where it came from."""
    converted, notes = convert_packer(data)
    header = [f"# Converted from {Path(source).name} by `bake convert`."]
    header += [f"# Note: {note}." for note in notes]
    return "\n".join(header) + "\n" + dump_yaml(converted)
