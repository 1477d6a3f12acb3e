"""Parents from source identities, revoked sources refused, revoke with and without cascade."""

from __future__ import annotations

import pytest

from bakeansible.errors import BakeError
from bakeansible.images.lineage import check_source_usable, find_source_image, revoke
from bakeansible.images.store import ImageStore
from tests.unit.images.conftest import AddImage


def test_the_source_identity_names_the_parent(store: ImageStore, add_image: AddImage) -> None:
    local = add_image("a00000000000", checksum="abc123")
    cloud = add_image("b00000000000", builder_type="tencentcloud-cvm", checksum=None,
                      artifact="ap-guangzhou:img-11111111")
    assert find_source_image(store, "tarball:abc123") == local
    assert find_source_image(store, "image:img-11111111") == cloud
    assert find_source_image(store, "tarball:missing") is None
    assert find_source_image(store, "tarball:fff") is None
    assert find_source_image(store, "debian-bookworm-0123") is None
    assert find_source_image(store, "name:^debian") is None


def test_a_revoked_image_cannot_be_a_source(store: ImageStore, add_image: AddImage) -> None:
    image = add_image("a00000000000", checksum="abc123")
    check_source_usable(store, "web", "tarball:abc123")
    store.revoke([image.id], "leaks keys")
    with pytest.raises(BakeError, match=r"Build web: its source is image a00000000000 .*revoked"
                                        r" at .*\(leaks keys\)"):
        check_source_usable(store, "web", "tarball:abc123")
    check_source_usable(store, "web", "debian-bookworm-0123")


def test_revoke_cascades_to_descendants_only_when_asked(
    store: ImageStore, add_image: AddImage
) -> None:
    root = add_image("a00000000000", "base")
    child = add_image("b00000000000", "site", parent_id=root.id)
    grandchild = add_image("c00000000000", "hardened", parent_id=child.id)
    sibling = add_image("d00000000000", "base")
    revoked, left = revoke(store, "b000", "bad", cascade=False)
    assert [r.id for r in revoked] == [child.id]
    assert [d.id for d in left] == [grandchild.id]
    assert not store.get(grandchild.id).revoked
    revoked, left = revoke(store, root.id, "CVE", cascade=True)
    assert {r.id for r in revoked} == {root.id, child.id, grandchild.id}
    assert left == []
    assert all(r.revoked for r in revoked)
    assert store.get(child.id).revoke_reason == "bad"  # revoked before: first reason stays
    assert store.get(grandchild.id).revoke_reason == "CVE"
    assert not store.get(sibling.id).revoked
