"""The bake:expires-at tag: what a build writes is what the sweep reads."""

from __future__ import annotations

import datetime as dt

from bakeansible.builders.tencentcloud.builder import TencentCvmBuilder
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.builders.tencentcloud.context import (
    TAG_EXPIRES_AT,
    format_expires_at,
    parse_expires_at,
)
from bakeansible.builders.tencentcloud.sweep import expired
from bakeansible.config.model import BuildSpec
from bakeansible.pipeline.context import BuildContext

START = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)


def test_format_and_parse_are_one_format() -> None:
    assert format_expires_at(START.timestamp() + 0.9) == "2026-05-04T03:02:01Z"
    assert parse_expires_at("2026-05-04T03:02:01Z") == START
    assert parse_expires_at("2026-05-04 03:02:01") is None
    assert parse_expires_at("") is None


def test_the_sweep_expires_what_a_build_tagged() -> None:
    config = TencentCvmConfig(
        region="ap-guangzhou", zone="ap-guangzhou-3", instance_type="S2.SMALL1",
        source_image_id="img-9qabwvbn", image_name="web", secret_id="id", secret_key="key",
        max_build_time=600,
    )  # fmt: skip
    builder = TencentCvmBuilder(BuildSpec("web", "tencentcloud-cvm", config), env={})
    base = BuildContext(build_id="b" * 32, build_name="web", builder_type="tencentcloud-cvm",
                        started_at=START.timestamp())  # fmt: skip
    tags = builder.new_context(base).tags
    assert tags[TAG_EXPIRES_AT] == "2026-05-04T03:12:01Z"
    assert not expired(tags, START + dt.timedelta(seconds=599))
    assert expired(tags, START + dt.timedelta(seconds=600))
    assert not expired({TAG_EXPIRES_AT: "soon"}, START) and not expired({}, START)
