"""The registry's queries, on a real database."""

from __future__ import annotations

import pytest

from bakeansible.images.records import ImageRecord, parse_cloud_images
from bakeansible.images.store import ImageNotFound, ImageStore
from tests.unit.images.conftest import AddImage


def test_a_record_round_trips(store: ImageStore) -> None:
    rec = ImageRecord(
        id="0123456789ab", image_name="web", build_name="site", builder_type="local",
        artifact="/out/web.tar.zst", checksum="abc", size=5_000_000_000,
        fingerprint="sha256:f", inputs={"roles/nginx/tasks/main.yml": "sha256:1"},
        source="tarball:def", parent_id="ba9876543210", git_commit="c0ffee",
        created_at=1_700_000_000.25, test_result="passed", location={"region": "x"},
    )  # fmt: skip
    store.add(rec)
    assert store.get("0123456789ab") == rec
    assert store.get("0123") == rec  # a unique prefix is enough
    assert store.images() == [rec]


def test_a_new_image_at_the_same_path_replaces_the_old(
    store: ImageStore, add_image: AddImage
) -> None:
    old = add_image("a00000000000", artifact="/out/site.tar.zst")
    other = add_image("b00000000000", artifact="/out/other.tar.zst")
    new = add_image("c00000000000", artifact="/out/site.tar.zst")
    assert store.get(old.id).deleted
    assert not store.get(new.id).deleted and not store.get(other.id).deleted
    assert [i.id for i in store.images()] == [new.id, other.id]


def test_get_refuses_unknown_and_ambiguous_ids(store: ImageStore, add_image: AddImage) -> None:
    add_image("aaaa11111111")
    add_image("aaaa22222222")
    with pytest.raises(ImageNotFound, match="No image 'zzz'"):
        store.get("zzz")
    with pytest.raises(ImageNotFound, match="ambiguous"):
        store.get("aaaa")
    with pytest.raises(ImageNotFound):
        store.get("a%")  # LIKE wildcards are not patterns here


def test_images_are_newest_first_per_build(store: ImageStore, add_image: AddImage) -> None:
    a = add_image("a00000000000", "site")
    b = add_image("b00000000000", "base")
    c = add_image("c00000000000", "site")
    assert [i.id for i in store.images()] == [c.id, b.id, a.id]
    assert [i.id for i in store.images("site")] == [c.id, a.id]
    store.mark_deleted(c.id)
    assert [i.id for i in store.images("site")] == [a.id]
    assert [i.id for i in store.images("site", deleted=True)] == [c.id, a.id]


def test_find_hit_takes_the_newest_usable_image(store: ImageStore, add_image: AddImage) -> None:
    assert store.find_hit("site", "sha256:f") is None
    old = add_image("a00000000000", fingerprint="sha256:f", test_result="passed")
    assert store.find_hit("site", "sha256:f") == old
    assert store.find_hit("other", "sha256:f") is None
    assert store.find_hit("site", "sha256:g") is None
    newer = add_image("b00000000000", fingerprint="sha256:f")  # tests not run: usable
    assert store.find_hit("site", "sha256:f") == newer
    add_image("c00000000000", fingerprint="sha256:f", test_result="failed")
    assert store.find_hit("site", "sha256:f") == newer
    store.revoke([newer.id], "bad")
    assert store.find_hit("site", "sha256:f") == old
    store.mark_deleted(old.id)
    assert store.find_hit("site", "sha256:f") is None


def test_find_by_checksum_and_cloud_image(store: ImageStore, add_image: AddImage) -> None:
    local = add_image("a00000000000", checksum="abc")
    cloud = add_image(
        "b00000000000", builder_type="tencentcloud-cvm", checksum=None,
        artifact="ap-guangzhou:img-11111111,ap-shanghai:img-22222222",
    )  # fmt: skip
    assert store.find_by_checksum("abc") == local
    assert store.find_by_checksum("ab") is None
    assert store.find_by_cloud_image("img-11111111") == cloud
    assert store.find_by_cloud_image("img-22222222") == cloud
    assert store.find_by_cloud_image("img-2222222") is None  # no partial match
    assert cloud.cloud_images == {"ap-guangzhou": "img-11111111", "ap-shanghai": "img-22222222"}
    assert local.cloud_images == {}
    assert store.find_by_artifact(local.artifact) == local


def test_descendants_at_any_depth(store: ImageStore, add_image: AddImage) -> None:
    root = add_image("a00000000000", "base")
    child = add_image("b00000000000", "site", parent_id=root.id)
    other = add_image("c00000000000", "api", parent_id=root.id)
    grandchild = add_image("d00000000000", "site-hardened", parent_id=child.id)
    add_image("e00000000000", "unrelated")
    assert [c.id for c in store.children(root.id)] == [child.id, other.id]
    assert {d.id for d in store.descendants(root.id)} == {child.id, other.id, grandchild.id}
    assert store.descendants(grandchild.id) == []


def test_revoke_keeps_the_first_reason(store: ImageStore, add_image: AddImage) -> None:
    image = add_image("a00000000000")
    store.revoke([image.id], "CVE-1", at=100.0)
    store.revoke([image.id], "again", at=200.0)
    got = store.get(image.id)
    assert (got.revoked_at, got.revoke_reason, got.status) == (100.0, "CVE-1", "revoked")


def test_channels_upsert(store: ImageStore, add_image: AddImage) -> None:
    a = add_image("a00000000000")
    b = add_image("b00000000000")
    assert store.channel("prod", "site") is None
    store.set_channel("prod", "site", a.id)
    store.set_channel("prod", "site", b.id)
    store.set_channel("canary", "site", a.id)
    assert store.channel("prod", "site") is not None
    assert [(c.ref, c.image_id) for c in store.channels()] == [
        ("canary/site", a.id), ("prod/site", b.id),
    ]  # fmt: skip
    assert store.channel_targets() == {a.id, b.id}


def test_parse_cloud_images() -> None:
    assert parse_cloud_images("ap-guangzhou:img-1") == {"ap-guangzhou": "img-1"}
    assert parse_cloud_images("/out/site.tar.zst") == {}
    assert parse_cloud_images("C:img-x/local") == {}
