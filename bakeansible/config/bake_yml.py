"""Reading a native ``bake.yml`` template: ``builds`` (a list, or a mapping of names to builds,
each with its own ``provisioners``, ``post_processors`` and ``tests``), ``provisioners``,
``post_processors``, ``tests``, typed ``variables``, and the lax template engine that leaves
Jinja2 to Ansible."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bakeansible.config.assemble import LoadRequest, TemplateReading
from bakeansible.config.entries import (
    RawEntry,
    build_items,
    check_keys,
    read_build,
    read_post_processors,
    read_provisioners,
    read_tests,
)
from bakeansible.config.issues import IssueLog
from bakeansible.config.model import Template
from bakeansible.config.positions import Document, child_path
from bakeansible.config.variables.declare import declare_bake_variables

BAKE_KEYS = ("description", "variables", "builds", "provisioners", "post_processors", "tests")


def read_bake_template(doc: Document, request: LoadRequest) -> Template:
    """The resolved ``Template`` of a bake.yml document; raises ``ConfigError``."""
    reading = TemplateReading(doc, request, strict=False)
    log = reading.log
    data = reading.top()
    check_keys(log, data, "", BAKE_KEYS)
    variables = reading.resolve(
        *declare_bake_variables(data.get("variables"), file=log.file, positions=log.positions)
    )
    seen: dict[str, str] = {}
    builds: list[RawEntry] = []
    for path, item in _build_items(log, data.get("builds")):
        raw = read_build(log, item, path, reading.ctx, seen)
        if raw is None:
            continue
        raw.own = read_provisioners(
            log, raw.options.pop("provisioners", None), child_path(path, "provisioners")
        )
        raw.own_post = read_post_processors(
            log, raw.options.pop("post_processors", None), child_path(path, "post_processors")
        )
        raw.own_tests = read_tests(
            log, raw.options.pop("tests", None), child_path(path, "tests")
        )
        builds.append(raw)
    provisioners = read_provisioners(log, data.get("provisioners"), "provisioners")
    post = read_post_processors(log, data.get("post_processors"), "post_processors")
    tests = read_tests(log, data.get("tests"), "tests")
    return reading.finish(variables, builds, provisioners, post, tests, source_format="bake")


def _build_items(log: IssueLog, value: Any) -> list[tuple[str, Any]]:
    """``builds`` as (path, item) pairs; besides a list, bake.yml accepts
    ``builds: {name: {type: ..., ...}}``."""
    if not isinstance(value, Mapping):
        return build_items(log, value, "builds")
    items = [
        (child_path("builds", str(name)), {"name": name, **(opts or {})})
        if isinstance(opts, Mapping | None)
        else (child_path("builds", str(name)), opts)
        for name, opts in value.items()
    ]
    if not items:
        log.add("builds", "define at least one build")
    return items
