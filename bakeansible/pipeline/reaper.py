"""Deletes journaled resources: the engine behind ``bake cleanup`` and the auto-sweep.

Each resource kind (``local.mount``, ``tencent.instance``...) has one idempotent deleter,
registered by the module that creates that kind. A resource already gone counts as removed.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from bakeansible.pipeline.journal import Journal, Resource

log = logging.getLogger(__name__)

Deleter = Callable[[Resource], None]

# The state of a build whose resources outlive its process on purpose: a `bake instance up`
# that finished. Only an explicit --build (`bake instance down`) removes them.
HELD = "held"
_DELETERS: dict[str, Deleter] = {}

# Where the deleters of each kind prefix live; imported only when a resource of it is reaped.
_PROVIDERS = {
    "host": "bakeansible.pipeline.host",
    "local": "bakeansible.builders.local.resources",
    "tencent": "bakeansible.builders.tencentcloud.resources",
    "ansible": "bakeansible.provisioners.galaxy",
}


def deleter(kind: str) -> Callable[[Deleter], Deleter]:
    """Register the deleter of a resource kind."""

    def register(fn: Deleter) -> Deleter:
        _DELETERS[kind] = fn
        return fn

    return register


def delete_resource(resource: Resource) -> None:
    """Delete one resource (idempotent). Raises if it could not be removed."""
    if resource.kind not in _DELETERS:
        provider = _PROVIDERS.get(resource.kind.split(".", 1)[0])
        if provider:
            importlib.import_module(provider)
    fn = _DELETERS.get(resource.kind)
    if fn is None:
        raise LookupError(f"no deleter for resource kind {resource.kind!r}")
    fn(resource)


@dataclass
class SweepReport:
    """What a sweep removed, would remove (dry run) and could not remove."""

    removed: list[Resource] = field(default_factory=list)
    failed: list[tuple[Resource, str]] = field(default_factory=list)
    skipped_builds: list[str] = field(default_factory=list)
    kept_builds: list[str] = field(default_factory=list)  # aborted, spared by keep_aborted
    held_builds: list[str] = field(default_factory=list)  # held instances, never swept


def sweep(
    journal: Journal,
    *,
    build_id: str | None = None,
    dry_run: bool = False,
    include_alive: bool = False,
    keep_aborted: bool = False,
) -> SweepReport:
    """Remove the open resources of dead builds (or of ``build_id``), newest first.

    ``keep_aborted`` spares builds stopped with -on-error=abort: their resources were kept on
    purpose, for debugging, until an explicit ``bake cleanup`` (the automatic sweep sets it).
    Held instances (state ``held``) are spared unless ``build_id`` names them.
    """
    report = SweepReport()
    alive: dict[str, bool] = {}
    kept: set[str] = set()
    for res in journal.open_resources(build_id):
        if res.build_id not in alive:
            record = journal.build(res.build_id)
            # A build of another host (a shared state dir) may be alive: we cannot tell, so
            # only an explicit --build removes its resources.
            foreign = bool(record and record.host != os.uname().nodename and build_id is None)
            alive[res.build_id] = bool(record and record.alive) or foreign
            if alive[res.build_id] and not include_alive:
                report.skipped_builds.append(res.build_id)
            elif build_id is None and record is not None and record.state == HELD:
                kept.add(res.build_id)
                report.held_builds.append(res.build_id)
            elif keep_aborted and record is not None and record.state == "aborted":
                kept.add(res.build_id)
                report.kept_builds.append(res.build_id)
        if (alive[res.build_id] and not include_alive) or res.build_id in kept:
            continue
        if dry_run:
            report.removed.append(res)
            continue
        try:
            delete_resource(res)
        except Exception as exc:
            log.debug("could not delete %s %s", res.kind, res.describe(), exc_info=exc)
            report.failed.append((res, str(exc)))
            continue
        journal.gone(res.id)
        report.removed.append(res)
    if not dry_run:
        failed = {res.build_id for res, _ in report.failed}
        if build_id is not None and build_id not in failed:
            record = journal.build(build_id)
            if record is not None and record.state == HELD:
                journal.finish_build(build_id, "removed")  # an instance taken down
        # Dead builds still marked running, with or without resources left, crashed.
        for record in journal.builds(limit=1000):
            if build_id is not None and record.build_id != build_id:
                continue
            if record.state != "running" or alive.get(record.build_id) or record.alive:
                continue
            if record.host != os.uname().nodename and build_id is None:
                continue
            if record.build_id not in failed:
                journal.finish_build(record.build_id, "crashed")
    return report
