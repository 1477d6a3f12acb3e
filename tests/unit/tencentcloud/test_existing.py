"""Incremental bakes on Tencent Cloud, against the emulator (no instance is booted): an image
tagged with the build's fingerprint is found from the cloud alone, checked with Describe calls
only, and an image that is gone or not NORMAL is named as missing."""

from __future__ import annotations

from pathlib import Path

from bakeansible.builders.tencentcloud.builder import TencentCvmBuilder
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.config.model import BuildSpec, ProvisionerSpec
from bakeansible.pipeline.incremental import assess
from bakeansible.provisioners.config import ShellConfig
from bakeansible.testing.tcloud import DEBIAN_12_IMAGE_ID, TencentEmulator
from bakeansible.testing.tcloud.state import Image


def builder(emu: TencentEmulator, tmp_path: Path, **over: object) -> TencentCvmBuilder:
    config = TencentCvmConfig(**{  # type: ignore[arg-type]
        "secret_id": emu.secret_id, "secret_key": emu.secret_key, "endpoint": emu.endpoint,
        "region": "ap-guangzhou", "zone": "ap-guangzhou-3", "instance_type": "S5.MEDIUM2",
        "source_image_id": DEBIAN_12_IMAGE_ID, "image_name": "inc", **over,
    })  # fmt: skip
    prov = ProvisionerSpec("shell", ShellConfig(inline=("true",)))
    spec = BuildSpec("cvm", "tencentcloud-cvm", config, (prov,))
    return TencentCvmBuilder(spec, tmp_path, env={})


def put_image(
    emu: TencentEmulator, region: str, fingerprint: str, state: str = "NORMAL", name: str = "inc"
) -> str:
    image_id = f"img-{abs(hash((region, fingerprint, state, name))) % 10**8:08d}"
    emu.cloud.region(region).images[image_id] = Image(
        id=image_id, name=name, os_name="Debian 12", platform="Debian",
        image_type="PRIVATE_IMAGE", source="CREATE_IMAGE", size=20, state=state,
        tags=[{"Key": "bake:input-fingerprint", "Value": fingerprint}],
    )  # fmt: skip
    return image_id


def test_found_by_its_fingerprint_tag_with_describe_calls_only(
    emu: TencentEmulator, tmp_path: Path
) -> None:
    b = builder(emu, tmp_path, image_copy_regions=("ap-shanghai",))
    for region in ("ap-guangzhou", "ap-shanghai"):  # another build's images, newer
        other = put_image(emu, region, "sha256:other")
        emu.cloud.region(region).images[other].created = "2099-01-01T00:00:00Z"
    never = assess(b, b.spec, tmp_path, [])
    assert [str(r) for r in never.reasons] == ["never built"]

    ours = put_image(emu, "ap-guangzhou", never.fingerprint, name="ours")
    assert not assess(b, b.spec, tmp_path, []).up_to_date, "the copy region has no copy"
    # A copy that lost its tags is known by its name.
    copy = put_image(emu, "ap-shanghai", "", name="ours")
    emu.reset_call_counts()
    hit = assess(b, b.spec, tmp_path, [])
    assert hit.artifact is not None, hit.reasons
    assert hit.artifact.extra["images"] == {"ap-guangzhou": ours, "ap-shanghai": copy}
    assert hit.artifact.artifact_id == f"ap-guangzhou:{ours},ap-shanghai:{copy}"
    assert set(emu.call_counts) == {"DescribeImages"}

    assert not assess(b, b.spec, tmp_path, [], force=True).up_to_date


def test_an_image_gone_or_failed_is_missing(emu: TencentEmulator, tmp_path: Path) -> None:
    b = builder(emu, tmp_path)
    fingerprint = assess(b, b.spec, tmp_path, []).fingerprint
    image_id = put_image(emu, "ap-guangzhou", fingerprint)
    record = b.find_image(fingerprint)
    assert record is not None and b.existing_image(record).artifact is not None
    emu.cloud.region("ap-guangzhou").images[image_id].state = "CREATEFAILED"
    check = b.existing_image(record)
    assert check.artifact is None and check.problem is not None
    assert str(check.problem) == f"image missing: ap-guangzhou:{image_id} (CREATEFAILED)"
    del emu.cloud.region("ap-guangzhou").images[image_id]
    assert str(b.existing_image(record).problem) == f"image missing: ap-guangzhou:{image_id} (gone)"
    assert b.find_image(fingerprint) is None


def test_a_source_named_by_pattern_is_the_newest_match(
    emu: TencentEmulator, tmp_path: Path
) -> None:
    """A newer image matching source_image_name is a new source: the build is not up to date."""
    older = put_image(emu, "ap-guangzhou", "x", name="bake-base-1")
    emu.cloud.region("ap-guangzhou").images[older].created = "2026-01-01T00:00:00Z"
    b = builder(emu, tmp_path, source_image_id="", source_image_name="^bake-base-")
    assert b.source_identity() == f"image:{older}"
    first = assess(b, b.spec, tmp_path, [])
    put_image(emu, "ap-guangzhou", first.fingerprint)  # an image baked from it
    assert assess(b, b.spec, tmp_path, []).up_to_date

    newer = put_image(emu, "ap-guangzhou", "x", name="bake-base-2")
    emu.cloud.region("ap-guangzhou").images[newer].created = "2026-06-01T00:00:00Z"
    again = builder(emu, tmp_path, source_image_id="", source_image_name="^bake-base-")
    assert again.source_identity() == f"image:{newer}"
    assert not assess(again, again.spec, tmp_path, []).up_to_date
