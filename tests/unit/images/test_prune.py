"""Prune: per build keep the N newest and the channels' images; delete the rest's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeansible.errors import BakeError
from bakeansible.images.prune import delete_image, plan_prune
from bakeansible.images.store import ImageStore
from tests.unit.images.conftest import AddImage


def test_plan_keeps_newest_per_build_and_channel_images(
    store: ImageStore, add_image: AddImage
) -> None:
    site = [add_image(f"s{i}0000000000", "site") for i in range(4)]  # s0 oldest
    base = [add_image(f"b{i}0000000000", "base") for i in range(2)]
    store.set_channel("prod", "site", site[0].id)
    plan = plan_prune(store, 2)
    assert {i.id for i in plan.delete} == {site[1].id}
    assert {i.id for i in plan.keep} == {site[0].id, site[2].id, site[3].id, *(b.id for b in base)}
    only_base = plan_prune(store, 0, "base")
    assert {i.id for i in only_base.delete} == {b.id for b in base}
    with pytest.raises(BakeError, match="must be 0 or more"):
        plan_prune(store, -1)


def test_delete_removes_files_and_marks_the_record(store: ImageStore, add_image: AddImage) -> None:
    image = add_image("a00000000000")
    path = Path(image.artifact)
    sha = path.with_name(path.name + ".sha256")
    assert path.exists() and sha.exists()
    delete_image(store, image)
    assert not path.exists() and not sha.exists()
    assert store.get(image.id).deleted
    assert store.images() == []
    delete_image(store, image)  # files already gone: fine


def test_a_file_that_is_another_image_now_is_not_deleted(
    store: ImageStore, add_image: AddImage
) -> None:
    old = add_image("a00000000000")
    path = Path(old.artifact)
    path.write_bytes(b"a later bake wrote another image here")
    delete_image(store, old)
    assert path.exists()
    assert store.get(old.id).deleted


def test_cloud_images_need_credentials(
    store: ImageStore, add_image: AddImage, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_ACCESS_KEY", "TENCENTCLOUD_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TENCENTCLOUD_SHARED_CREDENTIALS_DIR", str(tmp_path / "none"))
    image = add_image("a00000000000", builder_type="tencentcloud-cvm",
                      artifact="ap-guangzhou:img-11111111")
    with pytest.raises(BakeError, match=r"Cannot delete the Tencent Cloud images "
                                        r"ap-guangzhou:img-11111111: no credentials"):
        delete_image(store, image)
    assert not store.get(image.id).deleted
