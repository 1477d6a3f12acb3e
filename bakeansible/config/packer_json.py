"""Reading a Packer JSON template: ``builders``, ``provisioners``, ``post-processors``, the
``variables`` map with ``sensitive-variables``, and Packer's strict template engine. Root keys
starting with ``_`` are Packer's comments; ``min_packer_version`` is noted and ignored.

``_bake_tests`` is bake's one key of its own: the ``tests`` list of bake.yml. Packer reads a
root key starting with ``_`` as a comment, so the template still runs with Packer."""

from __future__ import annotations

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
from bakeansible.config.model import Template
from bakeansible.config.positions import Document
from bakeansible.config.variables.declare import declare_packer_variables

TESTS_KEY = "_bake_tests"
PACKER_KEYS = (
    "description",
    "variables",
    "sensitive-variables",
    "builders",
    "provisioners",
    "post-processors",
    "min_packer_version",
)


def read_packer_template(doc: Document, request: LoadRequest) -> Template:
    """The resolved ``Template`` of a Packer JSON document; raises ``ConfigError``."""
    reading = TemplateReading(doc, request, strict=True)
    log = reading.log
    data = reading.top()
    check_keys(log, {k: v for k, v in data.items() if not str(k).startswith("_")}, "", PACKER_KEYS)
    # A comment key that looks like bake's own is most likely a misspelt one: say so.
    check_keys(
        log, {k: v for k, v in data.items() if str(k).startswith("_bake")}, "", (TESTS_KEY,)
    )
    if "min_packer_version" in data:
        log.notes.append(
            f"min_packer_version {data['min_packer_version']!r} is ignored: this is bake"
        )
    variables = reading.resolve(
        *declare_packer_variables(
            data.get("variables"),
            data.get("sensitive-variables"),
            file=log.file,
            positions=log.positions,
        )
    )
    seen: dict[str, str] = {}
    builds: list[RawEntry] = []
    for path, item in build_items(log, data.get("builders"), "builders"):
        raw = read_build(log, item, path, reading.ctx, seen)
        if raw is not None:
            builds.append(raw)
    provisioners = read_provisioners(log, data.get("provisioners"), "provisioners")
    post = read_post_processors(log, data.get("post-processors"), "post-processors")
    tests = read_tests(log, data.get(TESTS_KEY), TESTS_KEY)
    return reading.finish(variables, builds, provisioners, post, tests, source_format="packer")
