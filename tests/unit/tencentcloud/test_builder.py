"""The Tencent builder's plan: what its steps get from the build context, in any call order."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bakeansible.builders.tencentcloud.builder import TencentCvmBuilder
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.builders.tencentcloud.steps.run_instance import StepRunInstance
from bakeansible.builders.tencentcloud.steps.vpc import StepConfigVpc
from bakeansible.config.model import BuildSpec
from bakeansible.errors import ConfigError
from bakeansible.pipeline.context import BuildContext


def builder(**over: object) -> TencentCvmBuilder:
    base = dict(
        region="ap-guangzhou", zone="ap-guangzhou-3", instance_type="S2.SMALL1",
        source_image_id="img-9qabwvbn", image_name="web", secret_id="id", secret_key="key",
    )  # fmt: skip
    config = TencentCvmConfig(**{**base, **over})  # type: ignore[arg-type]
    return TencentCvmBuilder(BuildSpec("web", "tencentcloud-cvm", config), env={})


def test_each_context_names_its_own_resources() -> None:
    b = builder(endpoint="http://127.0.0.1:9", skip_region_validation=True)
    first = b.new_context(BuildContext(build_id="1" * 32, build_name="web", builder_type="t"))
    second = b.new_context(BuildContext(build_id="2" * 32, build_name="web", builder_type="t"))
    for ctx, suffix in ((second, "22222222"), (first, "11111111")):
        steps = b.steps(ctx)
        (vpc,) = [s for s in steps if isinstance(s, StepConfigVpc)]
        (run,) = [s for s in steps if isinstance(s, StepRunInstance)]
        assert vpc.name == run.instance_name == f"bake_{suffix}"
    assert first.access is not None and first.access.cvm_endpoint == "http://127.0.0.1:9"


def test_a_context_needs_valid_access_even_without_preflight() -> None:
    b = builder(secret_key="")
    with pytest.raises(ConfigError, match="secret_key"):
        b.new_context(BuildContext(build_id="1" * 32, build_name="web", builder_type="t"))


def test_the_context_supplies_the_bake_cvm_inventory_filtered_to_the_build(
    tmp_path: Path,
) -> None:
    b = builder(endpoint="http://127.0.0.1:9", skip_region_validation=True, secret_key="k" * 32)
    ctx = b.new_context(BuildContext(build_id="1" * 32, build_name="web", builder_type="t"))
    assert ctx.inventory is not None, "the provisioner would fall back to the static inventory"
    written = ctx.inventory.write_inventory(ctx, tmp_path / "inv", groups=("default",), user="u")
    assert written is not None and written.path.name == "build.bake_cvm.yml"
    doc = yaml.safe_load(written.path.read_text())
    assert doc["plugin"] == "bake_cvm"
    assert doc["filters"] == {"tag:bake:build-id": "1" * 32}
    assert "k" * 32 not in written.path.read_text()
    assert written.env["TENCENTCLOUD_SECRET_KEY"] == "k" * 32 and "k" * 32 in written.secrets
