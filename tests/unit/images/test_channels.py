"""Channels, and sources that name one: resolved before anything is created, or refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeansible.builders.local.config import LocalConfig
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.config.model import BuildSpec
from bakeansible.errors import BakeError
from bakeansible.images.channels import parse_ref, resolve, resolve_sources, set_channel
from bakeansible.images.store import ImageStore
from tests.unit.images.conftest import AddImage

CLOUD = "ap-guangzhou:img-11111111,ap-shanghai:img-22222222"


def local_spec(source: str) -> BuildSpec:
    return BuildSpec("web", "local", LocalConfig(source=source))


def cloud_spec(source: str, region: str = "ap-shanghai") -> BuildSpec:
    config = TencentCvmConfig(
        source_image_id=source, region=region, zone=f"{region or 'ap-guangzhou'}-1",
        image_name="web", instance_type="S5.MEDIUM2",
    )  # fmt: skip
    return BuildSpec("web", "tencentcloud-cvm", config)


def test_parse_ref() -> None:
    assert parse_ref("channel:prod/site") == ("prod", "site")
    assert parse_ref("prod/site") == ("prod", "site")
    for bad in ("channel:prod", "channel:/site", "channel:prod/", "channel:a/b/c"):
        with pytest.raises(BakeError, match="not a channel reference"):
            parse_ref(bad)


def test_set_channel_checks_build_and_state(store: ImageStore, add_image: AddImage) -> None:
    image = add_image("a00000000000", "site")
    assert set_channel(store, "prod", "site", "a000").image_id == image.id
    with pytest.raises(BakeError, match="is of build 'site', not 'web'"):
        set_channel(store, "prod", "web", image.id)
    with pytest.raises(BakeError, match="not valid"):
        set_channel(store, "pr/od", "site", image.id)
    failed = add_image("b00000000000", "site", test_result="failed")
    with pytest.raises(BakeError, match="failed its tests"):
        set_channel(store, "prod", "site", failed.id)
    store.revoke([image.id], "CVE-2026-1")
    with pytest.raises(BakeError, match=r"was revoked at .* \(CVE-2026-1\)"):
        set_channel(store, "canary", "site", image.id)


def test_a_local_source_resolves_to_the_image_file(store: ImageStore, add_image: AddImage) -> None:
    image = add_image("a00000000000", "site")
    store.set_channel("prod", "site", image.id)
    spec = resolve_sources(local_spec("channel:prod/site"), store)
    assert spec.config.source == image.artifact
    assert spec.name == "web"
    plain = local_spec("debian:bookworm")
    assert resolve_sources(plain, store) is plain
    assert resolve_sources(plain, None) is plain


def test_a_channel_source_is_refused_clearly(store: ImageStore, add_image: AddImage) -> None:
    with pytest.raises(BakeError, match="Channel prod/site does not exist"):
        resolve_sources(local_spec("channel:prod/site"), store)
    with pytest.raises(BakeError, match="no image has been recorded"):
        resolve_sources(local_spec("channel:prod/site"), None)
    with pytest.raises(BakeError, match="'channel:prod' is not a channel reference"):
        resolve_sources(local_spec("channel:prod"), None)
    image = add_image("a00000000000", "site")
    store.set_channel("prod", "site", image.id)
    Path(image.artifact).unlink()
    with pytest.raises(BakeError, match=r"the file of image a00000000000, .* is missing"):
        resolve_sources(local_spec("channel:prod/site"), store)
    with pytest.raises(BakeError, match="a local image; a tencentcloud-cvm build cannot"):
        resolve_sources(cloud_spec("channel:prod/site"), store)
    store.revoke([image.id], "bad base")
    with pytest.raises(BakeError, match=r"Channel prod/site: image a00000000000 was revoked"):
        resolve(store, "channel:prod/site")
    store.mark_deleted(image.id)
    store.db.execute("UPDATE images SET revoked_at = NULL")
    with pytest.raises(BakeError, match="no longer exists"):
        resolve(store, "prod/site")


def test_a_cloud_source_resolves_to_the_image_of_the_region(
    store: ImageStore, add_image: AddImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = add_image("a00000000000", "site", builder_type="tencentcloud-cvm", artifact=CLOUD)
    store.set_channel("prod", "site", image.id)
    assert resolve_sources(cloud_spec("channel:prod/site"), store).config.source_image_id == (
        "img-22222222"
    )
    monkeypatch.setenv("TENCENTCLOUD_REGION", "ap-guangzhou")
    spec = resolve_sources(cloud_spec("channel:prod/site", region=""), store)
    assert spec.config.source_image_id == "img-11111111"
    with pytest.raises(BakeError, match="no copy in region ap-beijing .*ap-guangzhou, ap-sh"):
        resolve_sources(cloud_spec("channel:prod/site", region="ap-beijing"), store)
    with pytest.raises(BakeError, match="a tencentcloud-cvm image; a local build"):
        resolve_sources(local_spec("channel:prod/site"), store)
