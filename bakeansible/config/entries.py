"""The builds, provisioners and post-processors of a template as written (``RawEntry``), read with
the keys both formats share. Each format's reader says where its lists are and what it adds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from bakeansible.config import types as config_types
from bakeansible.config.decode import describe_value, suggest
from bakeansible.config.durations import parse_duration
from bakeansible.config.interpolate import Context, InterpolationError, render
from bakeansible.config.issues import IssueLog
from bakeansible.config.model import ON_TEST_FAILURE
from bakeansible.config.positions import child_path


@dataclass
class RawEntry:
    """A build, provisioner or post-processor as written, before per-build decoding."""

    type: str
    path: str
    options: dict[str, Any]
    name: str = ""
    only: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()
    pause_before: float = 0.0
    timeout: float = 0.0
    max_retries: int = 0
    override: dict[str, Any] = field(default_factory=dict)
    own: list[RawEntry] = field(default_factory=list)  # a bake.yml build's own provisioners
    own_post: list[RawEntry] = field(default_factory=list)
    own_tests: list[RawEntry] = field(default_factory=list)  # a bake.yml build's own tests
    on_test_failure: str = "delete"  # tests only


def check_keys(log: IssueLog, data: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
    """An issue for each key of ``data`` not in ``allowed``."""
    for key in data:
        if key not in allowed:
            log.add(
                child_path(path, str(key)),
                f"unknown key `{key}`{suggest(str(key), allowed)}",
                key=True,
            )


def build_items(log: IssueLog, value: Any, key: str) -> list[tuple[str, Any]]:
    """The list of builds under ``key`` as (path, item) pairs; an issue when it is missing,
    empty or not a list."""
    if value is None:
        log.add("", f"the template has no `{key}`; define at least one build")
        return []
    if not isinstance(value, list):
        log.add(key, f"expected a list of builds, got {describe_value(value)}")
        return []
    if not value:
        log.add(key, "define at least one build")
    return [(child_path(key, i), item) for i, item in enumerate(value)]


def read_build(
    log: IssueLog, item: Any, path: str, ctx: Context, seen: dict[str, str]
) -> RawEntry | None:
    """One build, named by its ``name`` (rendered with ``ctx``) or its type; ``None`` when it
    is unusable or its name is taken (``seen`` maps names to paths)."""
    raw = read_entry(log, item, path, "builder", config_types.builder_type_names())
    if raw is None:
        return None
    name = item.get("name", raw.type)
    if not isinstance(name, str) or not name:
        log.add(child_path(path, "name"), f"expected a string, got {describe_value(name)}")
        return None
    try:
        name = render(name, ctx)
    except InterpolationError as exc:
        log.add(child_path(path, "name"), str(exc))
    raw.name = name
    if name in seen:
        log.add(
            path,
            f"duplicate build name `{name}` (also {seen[name]}); give each build a unique `name`",
        )
        return None
    seen[name] = path
    raw.options.pop("name", None)
    return raw


def read_entry(
    log: IssueLog, item: Any, path: str, what: str, known: Sequence[str]
) -> RawEntry | None:
    """A mapping with a known ``type``; keys starting with ``_`` are comments."""
    if not isinstance(item, Mapping):
        log.add(path, f"expected a mapping with a `type`, got {describe_value(item)}")
        return None
    type_name = item.get("type")
    if type_name is None:
        log.add(path, f"missing required key `type` (one of {', '.join(known)})")
        return None
    if not isinstance(type_name, str) or type_name not in known:
        shown = f"`{type_name}`" if isinstance(type_name, str) else describe_value(type_name)
        module = config_types.missing_module(what, str(type_name))
        if module:
            log.add(
                child_path(path, "type"),
                f"{what} type {shown} is not available here ({module} cannot be imported)",
            )
            return None
        log.add(
            child_path(path, "type"),
            f"unknown {what} type {shown}"
            f"{suggest(str(type_name), known)} (known: {', '.join(known)})",
        )
        return None
    options = {k: v for k, v in item.items() if k != "type" and not str(k).startswith("_")}
    return RawEntry(type=type_name, path=path, options=options)


def _string_list(log: IssueLog, value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    log.add(path, f"expected a list of build names, got {describe_value(value)}")
    return ()


def _read_common(log: IssueLog, raw: RawEntry) -> None:
    opts = raw.options
    if "name" in opts:
        if isinstance(opts["name"], str):
            raw.name = opts.pop("name")
        else:
            log.add(child_path(raw.path, "name"), "expected a string")
            opts.pop("name")
    if "only" in opts:
        raw.only = _string_list(log, opts.pop("only"), child_path(raw.path, "only"))
    if "except" in opts:
        raw.except_ = _string_list(log, opts.pop("except"), child_path(raw.path, "except"))


def read_provisioners(log: IssueLog, value: Any, path: str) -> list[RawEntry]:
    """The provisioner list at ``path``, with their common keys (name, only, except,
    pause_before, timeout, max_retries, override) taken out of their options."""
    if value is None:
        return []
    if not isinstance(value, list):
        log.add(path, f"expected a list of provisioners, got {describe_value(value)}")
        return []
    result = []
    known = config_types.provisioner_type_names()
    for i, item in enumerate(value):
        raw = read_entry(log, item, child_path(path, i), "provisioner", known)
        if raw is None:
            continue
        _read_common(log, raw)
        opts = raw.options
        for key in ("pause_before", "timeout"):
            if key in opts:
                try:
                    setattr(raw, key, parse_duration(opts.pop(key)))
                except ValueError as exc:
                    log.add(child_path(raw.path, key), str(exc))
        if "max_retries" in opts:
            retries = opts.pop("max_retries")
            if isinstance(retries, str) and retries.strip().isdigit():
                retries = int(retries)
            if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
                log.add(
                    child_path(raw.path, "max_retries"),
                    f"expected a non-negative integer, got {describe_value(retries)}",
                )
            else:
                raw.max_retries = retries
        if "override" in opts:
            override = opts.pop("override")
            if isinstance(override, Mapping) and all(
                isinstance(v, Mapping) for v in override.values()
            ):
                raw.override = dict(override)
            else:
                log.add(
                    child_path(raw.path, "override"),
                    "expected a mapping of build names to option mappings",
                )
        result.append(raw)
    return result


def read_tests(log: IssueLog, value: Any, path: str) -> list[RawEntry]:
    """The test list at ``path``: provisioner entries (same types, options and common keys),
    each with ``on_test_failure`` (``delete`` or ``keep``) taken out of its options."""
    if value is not None and not isinstance(value, list):
        log.add(path, f"expected a list of tests, got {describe_value(value)}")
        return []
    result = read_provisioners(log, value, path)
    for raw in result:
        choice = raw.options.pop("on_test_failure", "delete")
        if choice in ON_TEST_FAILURE:
            raw.on_test_failure = choice
        else:
            shown = f"`{choice}`" if isinstance(choice, str) else describe_value(choice)
            hint = suggest(choice, ON_TEST_FAILURE) if isinstance(choice, str) else ""
            log.add(
                child_path(raw.path, "on_test_failure"),
                f"expected `delete` or `keep`, got {shown}{hint}",
            )
    return result


def read_post_processors(log: IssueLog, value: Any, path: str) -> list[RawEntry]:
    """The post-processor list at ``path``: a string is a bare type, a list a chain (Packer's
    forms; a chain runs in order here)."""
    if value is None:
        return []
    if not isinstance(value, list):
        log.add(path, f"expected a list of post-processors, got {describe_value(value)}")
        return []
    known = config_types.post_processor_type_names()
    result = []
    for i, item in enumerate(value):
        at = child_path(path, i)
        entries = item if isinstance(item, list) else [item]
        for j, entry in enumerate(entries):
            sub = child_path(at, j) if isinstance(item, list) else at
            if isinstance(entry, str):
                entry = {"type": entry}
            raw = read_entry(log, entry, sub, "post-processor", known)
            if raw is None:
                continue
            _read_common(log, raw)
            result.append(raw)
    return result


def check_build_refs(log: IssueLog, raw: RawEntry, names: Sequence[str]) -> None:
    """An issue for each ``only``/``except`` pattern and ``override`` key naming no build."""
    for key, patterns in (("only", raw.only), ("except", raw.except_)):
        for i, pattern in enumerate(patterns):
            if not any(fnmatchcase(n, pattern) for n in names):
                log.add(
                    child_path(child_path(raw.path, key), i),
                    f"`{pattern}` matches no build{suggest(pattern, names)} "
                    f"(builds: {', '.join(names) or 'none'})",
                )
    for name in raw.override:
        if name not in names:
            log.add(
                child_path(child_path(raw.path, "override"), name),
                f"`{name}` is not a build{suggest(name, names)}",
                key=True,
            )
