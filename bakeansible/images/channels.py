"""Channels: a name per build (``prod/site``) for one image, and sources that name a channel.

``source: channel:prod/site`` (local builds) and ``source_image_id: channel:prod/site``
(Tencent) are resolved at plan time, before anything is created, to the image's file or to its
image id in the build's region.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from bakeansible.config.model import BuildSpec
from bakeansible.errors import BakeError
from bakeansible.images.lineage import revoked_note
from bakeansible.images.records import TEST_FAILED, ChannelRecord, ImageRecord
from bakeansible.images.store import ImageStore

PREFIX = "channel:"
# The options a builder takes its source from, in the order they are looked at.
SOURCE_FIELDS = ("source", "source_image_id")


def is_channel_ref(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def parse_ref(ref: str) -> tuple[str, str]:
    """``prod/site`` (or ``channel:prod/site``) -> ("prod", "site")."""
    text = ref.removeprefix(PREFIX)
    channel, sep, build = text.partition("/")
    if not sep or not channel or not build or "/" in build:
        raise BakeError(
            f"{ref!r} is not a channel reference.",
            hint="Write channel:CHANNEL/BUILD, e.g. channel:prod/site.",
        )
    return channel, build


def check_usable(image: ImageRecord, what: str) -> None:
    """A channel may only name an image that can be built from: not revoked, not pruned,
    tests not failed."""
    if image.revoked:
        raise BakeError(
            f"{what}: image {image.id} was {revoked_note(image)}.",
            hint="Point the channel at another image: bake channel set CHANNEL BUILD IMAGE.",
        )
    if image.deleted:
        raise BakeError(
            f"{what}: image {image.id} no longer exists (pruned, or its file replaced by a "
            "later bake of the same name).",
            hint="Point the channel at another image: bake channel set CHANNEL BUILD IMAGE.",
        )
    if image.test_result == TEST_FAILED:
        raise BakeError(
            f"{what}: image {image.id} failed its tests.",
            hint="Point the channel at an image whose tests passed.",
        )


def set_channel(store: ImageStore, channel: str, build_name: str, ident: str) -> ChannelRecord:
    """Point ``channel/build_name`` at an image of that build."""
    if not channel or "/" in channel or ":" in channel:
        raise BakeError(
            f"Channel name {channel!r} is not valid.",
            hint="Use a name without '/' or ':', e.g. prod.",
        )
    image = store.get(ident)
    if image.build_name != build_name:
        raise BakeError(
            f"Image {image.id} is of build {image.build_name!r}, not {build_name!r}.",
            hint=f"bake channel set {channel} {image.build_name} {image.id}",
        )
    check_usable(image, f"Channel {channel}/{build_name}")
    return store.set_channel(channel, build_name, image.id)


def resolve(store: ImageStore, ref: str) -> ImageRecord:
    """The image a channel names; BakeError if there is none or it cannot be used."""
    channel, build = parse_ref(ref)
    entry = store.channel(channel, build)
    if entry is None:
        raise BakeError(
            f"Channel {channel}/{build} does not exist.",
            hint=f"`bake channel list` shows the channels; `bake channel set {channel} {build} "
            "IMAGE` creates it.",
        )
    image = store.get(entry.image_id)
    check_usable(image, f"Channel {channel}/{build}")
    return image


def resolve_sources(spec: BuildSpec, store: ImageStore | None) -> BuildSpec:
    """``spec`` with a channel source replaced by what it names (unchanged without one)."""
    config = spec.config
    for name in SOURCE_FIELDS:
        value = getattr(config, name, None)
        if not is_channel_ref(value):
            continue
        assert isinstance(value, str)
        where = f"Build {spec.name}: {name} {value}"
        parse_ref(value)  # a malformed reference is refused as such, registry or not
        if store is None:
            raise BakeError(
                f"{where}: no image has been recorded on this machine yet.",
                hint="Bake the channel's build and `bake channel set` it first.",
            )
        image = resolve(store, value)
        if image.builder_type != spec.type:
            raise BakeError(
                f"{where}: image {image.id} is a {image.builder_type} image; a {spec.type} "
                "build cannot start from it.",
                hint="Name a channel of a build of the same type.",
            )
        resolved = _local_path(image, where) if name == "source" else _cloud_id(image, spec, where)
        return dataclasses.replace(spec, config=dataclasses.replace(config, **{name: resolved}))
    return spec


def _local_path(image: ImageRecord, where: str) -> str:
    path = Path(image.artifact)
    if not path.is_file():
        raise BakeError(
            f"{where}: the file of image {image.id}, {path}, is missing.",
            hint="Bake that build again, or point the channel at another image.",
        )
    return str(path)


def _cloud_id(image: ImageRecord, spec: BuildSpec, where: str) -> str:
    region = str(getattr(spec.config, "region", "") or os.environ.get("TENCENTCLOUD_REGION", ""))
    images = image.cloud_images
    if region not in images:
        have = ", ".join(sorted(images)) or "none"
        raise BakeError(
            f"{where}: image {image.id} has no copy in region {region or '(unset)'} "
            f"(it is in: {have}).",
            hint="Copy it there with image_copy_regions in its build, or build in its region.",
        )
    return images[region]
