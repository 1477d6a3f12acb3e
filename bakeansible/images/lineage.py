"""Chained builds: which registry image a build started from, and revoking a line of images."""

from __future__ import annotations

import time

from bakeansible.errors import BakeError
from bakeansible.images.records import ImageRecord
from bakeansible.images.store import ImageStore


def find_source_image(store: ImageStore, source_identity: str) -> ImageRecord | None:
    """The registry image a build's source is, from the builder's ``source_identity``:
    ``tarball:<sha256>`` (a local tarball, by checksum) or ``image:img-…`` (a cloud image)."""
    kind, _, value = source_identity.partition(":")
    if kind == "tarball" and value and value != "missing":
        return store.find_by_checksum(value)
    if kind == "image" and value.startswith("img-"):
        return store.find_by_cloud_image(value)
    return None


def check_source_usable(store: ImageStore, build_name: str, source_identity: str) -> None:
    """Refuse a source that is a revoked (or pruned) registry image."""
    image = find_source_image(store, source_identity)
    if image is None:
        return
    if image.revoked:
        raise BakeError(
            f"Build {build_name}: its source is image {image.id} ({image.build_name}, "
            f"{image.artifact}), which was revoked{_reason(image)}.",
            hint="Build from another image (`bake images` lists them), or bake its build again.",
        )


def revoke(
    store: ImageStore, ident: str, reason: str, *, cascade: bool
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """Revoke an image (and with ``cascade`` every image built from it, at any depth).

    Returns (revoked now, descendants left alone). Revoking twice is harmless.
    """
    image = store.get(ident)
    descendants = store.descendants(image.id)
    targets = [image, *descendants] if cascade else [image]
    store.revoke([t.id for t in targets], reason, time.time())
    revoked = [store.get(t.id) for t in targets]
    left = [] if cascade else [d for d in descendants if not d.revoked]
    return revoked, left


def _reason(image: ImageRecord) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(image.revoked_at or 0))
    return f" at {when}" + (f" ({image.revoke_reason})" if image.revoke_reason else "")


def revoked_note(image: ImageRecord) -> str:
    """``revoked at <time> (<reason>)`` for messages."""
    return "revoked" + _reason(image)
