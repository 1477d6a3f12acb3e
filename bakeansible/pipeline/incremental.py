"""Incremental bakes: is a build up to date, and if not, why?

``decide`` compares a build's input fingerprint (computed before anything is created) with the
images earlier bakes recorded. A build is up to date when an image with the same fingerprint
still exists intact (the builder checks: the file is there and its sha256 verifies, or the cloud
image exists), passed its tests or had none, and is not revoked. Otherwise every reason is
named: the inputs that differ from the newest image's, or what is wrong with the images that have
the same inputs. Only reads: no side effect, no create call.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeansible.artifacts.fingerprint import fingerprint_inputs
from bakeansible.config.model import BuildSpec
from bakeansible.pipeline.context import Artifact
from bakeansible.pipeline.previous import (
    PreviousImage,
    Reason,
    previous_images,
    registry_images,
)
from bakeansible.pipeline.protocols import Builder

if TYPE_CHECKING:
    from bakeansible.images.store import ImageStore


@dataclass
class Decision:
    """One build's verdict: up to date (with the artifact to reuse) or rebuild (with reasons)."""

    fingerprint: str
    parts: dict[str, str]
    reasons: list[Reason] = field(default_factory=list)
    artifact: Artifact | None = None
    previous: PreviousImage | None = None

    @property
    def up_to_date(self) -> bool:
        return self.artifact is not None


def find_previous(
    build_name: str, builder_type: str, manifests: list[Path], store: ImageStore | None = None
) -> list[PreviousImage]:
    """The images earlier bakes recorded for the build: the registry's first (it knows which
    are revoked, failed their tests or were pruned), then the manifests', each newest first."""
    found = registry_images(store, build_name, builder_type) if store is not None else []
    return found + previous_images(build_name, builder_type, manifests)


def assess(
    builder: Builder[Any],
    spec: BuildSpec,
    project_dir: Path,
    manifests: list[Path],
    secrets: Collection[str] = (),
    force: bool = False,
    store: ImageStore | None = None,
) -> Decision:
    """Fingerprint the build's inputs and decide; with ``force`` it is rebuilt regardless."""
    digest, parts = fingerprint_inputs(spec, project_dir, builder.source_identity(), secrets)
    if force:
        return Decision(digest, parts, [Reason("force")])
    return decide(builder, spec.name, spec.type, digest, parts, manifests, store)


def decide(
    builder: Builder[Any],
    build_name: str,
    builder_type: str,
    fingerprint: str,
    parts: dict[str, str],
    manifests: list[Path],
    store: ImageStore | None = None,
) -> Decision:
    """Up to date or rebuild, and why; reads only."""
    decision = Decision(fingerprint, parts)
    records = [
        r for r in find_previous(build_name, builder_type, manifests, store)
        if builder.is_own_image(r)
    ]
    same = [r for r in records if r.fingerprint == fingerprint]
    if not same and (tagged := builder.find_image(fingerprint)) is not None:
        same = [tagged]
    seen: set[str] = set()
    for record in same:
        # The newest record of an image says what it is now (revoked, tested): older ones of
        # the same image do not count.
        if record.artifact_id in seen:
            continue
        seen.add(record.artifact_id)
        if record.extra.get("deleted") is True:
            decision.reasons.append(Reason("image-missing", f"{record.artifact_id} (pruned)"))
            continue
        if record.revoked:
            decision.reasons.append(Reason("revoked", record.artifact_id))
            continue
        if record.test_result == "failed":
            decision.reasons.append(Reason("failed-tests", record.artifact_id))
            continue
        check = builder.existing_image(record)
        if check.artifact is not None:
            decision.artifact, decision.previous = check.artifact, record
            decision.reasons = []
            return decision
        if check.problem is not None:
            decision.reasons.append(check.problem)
    if same:
        return decision
    if not records:
        decision.reasons.append(Reason("never-built"))
        return decision
    decision.previous = records[0]
    decision.reasons = diff_parts(records[0].parts, parts)
    return decision


def _source_detail(old: str, new: str) -> str:
    if new.startswith("debian-"):
        what = "a new Debian base"
    elif new.startswith("tarball:"):
        what = "a new parent image"
    else:
        what = "a new source image"
    return f"{what} ({old or 'none'} -> {new})"


def diff_parts(old: dict[str, str] | None, new: dict[str, str]) -> list[Reason]:
    """The reasons ``new`` inputs differ from ``old`` ones, one per differing part."""
    if old is None:
        return [Reason("inputs", "the earlier bake did not record its inputs")]
    reasons: list[Reason] = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        kind, _, detail = name.partition(":")
        if name == "source":
            reasons.append(Reason("source", _source_detail(before or "", after or "")))
        elif kind == "file":
            change = (
                "file-added"
                if before is None
                else "file-removed"
                if after is None
                else ("file-changed")
            )
            reasons.append(Reason(change, detail))
        elif kind == "var":
            how = " (added)" if before is None else " (removed)" if after is None else ""
            reasons.append(Reason("variable", detail + how))
        elif kind == "collection":
            change = f"{detail} ({before or 'none'} -> {after or 'none'})"
            reasons.append(Reason("collection", change))
        elif name == "option:provisioners":
            reasons.append(Reason("provisioners", f"{before or 'none'} -> {after or 'none'}"))
        elif detail.startswith("builder."):
            reasons.append(Reason("builder-option", detail.removeprefix("builder.")))
        elif kind == "option":
            reasons.append(Reason("provisioner-option", detail))
        else:
            reasons.append(Reason("inputs", name))
    return reasons or [Reason("inputs", "the fingerprint differs")]
