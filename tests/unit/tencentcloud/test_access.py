"""check_access: credentials, region, zone and assume-role as validate and the preflight see them.

Every test gives ``check_access`` an explicit environment: the process's own TENCENTCLOUD_* and
HOME never leak in (the tccli files are looked up under an empty HOME or a tmp directory).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bakeansible.builders.tencentcloud.access import check_access
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.builders.tencentcloud.regions import _region_set, check_regions, known_regions
from bakeansible.config.decode import decode
from bakeansible.testing.tcloud.catalog import REGIONS, zones

BASE = {
    "region": "ap-guangzhou",
    "zone": "ap-guangzhou-3",
    "instance_type": "S2.SMALL1",
    "source_image_id": "img-9qabwvbn",
    "image_name": "bake-test",
}


def make(**over: object) -> TencentCvmConfig:
    config, issues = decode(TencentCvmConfig, {**BASE, **over}, file="t.json")
    assert not issues, issues
    return config


@pytest.fixture
def empty_home(tmp_path: Path) -> dict[str, str]:
    """An environment with no TENCENTCLOUD_* variable and a HOME without ~/.tccli."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "PATH": "/usr/bin:/bin"}


@pytest.fixture(autouse=True)
def _no_host_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # ``~`` in the profile directory expands with the process's HOME, not the env mapping's.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_missing_credentials_are_reported_with_where_bake_looked(
    empty_home: dict[str, str],
) -> None:
    check = check_access(make(), empty_home)
    assert not check.ok and check.credentials is None
    fields = {f: m for f, m in check.issues}
    assert set(fields) == {"secret_id", "secret_key"}
    assert "TENCENTCLOUD_SECRET_KEY" in fields["secret_key"]
    assert "default.credential" in fields["secret_key"]


def test_credentials_from_the_environment(empty_home: dict[str, str]) -> None:
    env = {**empty_home, "TENCENTCLOUD_ACCESS_KEY": "AKIDenv", "TENCENTCLOUD_SECRET_KEY": "skenv"}
    check = check_access(make(), env)
    assert check.ok and check.issues == () and check.warnings == ()
    assert check.credentials is not None
    assert (check.credentials.secret_id, check.credentials.source) == ("AKIDenv", "environment")


def test_credentials_and_region_from_a_tccli_profile(
    empty_home: dict[str, str], tmp_path: Path
) -> None:
    tccli = Path(empty_home["HOME"]) / ".tccli"
    tccli.mkdir()
    (tccli / "dev.credential").write_text(json.dumps({"secretId": "AKIDp", "secretKey": "skp"}))
    (tccli / "dev.configure").write_text(json.dumps({"_sys_param": {"region": "ap-tokyo"}}))
    config = make(region="", zone="ap-tokyo-1", profile="dev")
    check = check_access(config, empty_home)
    assert check.ok, check.issues
    assert check.credentials is not None and check.credentials.source == "tccli profile dev"
    assert check.access.region == "ap-tokyo"
    # The profile's region is checked like a written one.
    (tccli / "dev.configure").write_text(json.dumps({"_sys_param": {"region": "ap-tokio"}}))
    fields = dict(check_access(config, empty_home).issues)
    assert "did you mean `ap-tokyo`?" in fields["region"]


def test_unreadable_profile_is_an_issue_not_a_crash(empty_home: dict[str, str]) -> None:
    tccli = Path(empty_home["HOME"]) / ".tccli"
    tccli.mkdir()
    (tccli / "default.credential").write_text("{not json")
    check = check_access(make(), empty_home)
    assert [f for f, _ in check.issues] == ["profile"]
    assert "default.credential" in check.issues[0][1]


def test_unknown_region_did_you_mean(empty_home: dict[str, str]) -> None:
    env = {**empty_home, "TENCENTCLOUD_SECRET_ID": "id", "TENCENTCLOUD_SECRET_KEY": "key"}
    check = check_access(make(region="ap-guangzhuo", zone="ap-guangzhuo-3"), env)
    fields = dict(check.issues)
    assert list(fields) == ["region"]
    assert "unknown region `ap-guangzhuo`; did you mean `ap-guangzhou`?" in fields["region"]
    assert "skip_region_validation" in fields["region"]
    check = check_access(make(region="ap-nowhere-9", zone="ap-nowhere-9-1"), env)
    assert "unknown region `ap-nowhere-9`" in dict(check.issues)["region"]


def test_region_from_env_and_missing_region(empty_home: dict[str, str]) -> None:
    env = {**empty_home, "TENCENTCLOUD_SECRET_ID": "id", "TENCENTCLOUD_SECRET_KEY": "key"}
    check = check_access(make(region="", zone="eu-frankfurt-1"), env)
    assert "is required" in dict(check.issues)["region"]
    check = check_access(make(region="", zone="eu-frankfurt-1"),
                         {**env, "TENCENTCLOUD_REGION": "eu-frankfurt"})  # fmt: skip
    assert check.ok and check.access.region == "eu-frankfurt"


def test_new_region_with_skip_region_validation_is_a_warning(empty_home: dict[str, str]) -> None:
    env = {**empty_home, "TENCENTCLOUD_SECRET_ID": "id", "TENCENTCLOUD_SECRET_KEY": "key"}
    config = make(region="ap-newcity", zone="ap-newcity-1", image_copy_regions=["ap-newer"])
    assert {f for f, _ in check_access(config, env).issues} == {"region", "image_copy_regions"}
    check = check_access(replace(config, skip_region_validation=True), env)
    assert check.ok and check.issues == ()
    assert len(check.warnings) == 2
    assert "`ap-newcity`" in check.warnings[0] and "skip_region_validation" in check.warnings[0]
    assert "`ap-newer`" in check.warnings[1]


def test_custom_endpoint_makes_an_unknown_region_a_warning(empty_home: dict[str, str]) -> None:
    env = {**empty_home, "TENCENTCLOUD_SECRET_ID": "id", "TENCENTCLOUD_SECRET_KEY": "key",
           "TENCENTCLOUD_ENDPOINT": "http://127.0.0.1:9"}  # fmt: skip
    check = check_access(make(region="private-1", zone="private-1-1"), env)
    assert check.ok and len(check.warnings) == 1
    assert "http://127.0.0.1:9" in check.warnings[0]


def test_zone_must_belong_to_the_region(empty_home: dict[str, str]) -> None:
    env = {**empty_home, "TENCENTCLOUD_SECRET_ID": "id", "TENCENTCLOUD_SECRET_KEY": "key"}
    assert "is in region `ap-shanghai`" in dict(
        check_access(make(zone="ap-shanghai-2"), env).issues
    )["zone"]
    assert "zones are named ap-guangzhou-<number>" in dict(
        check_access(make(zone="ap-guangzhou3"), env).issues
    )["zone"]


def test_assume_role_needs_both_arn_and_session(empty_home: dict[str, str]) -> None:
    env = {**empty_home, "TENCENTCLOUD_SECRET_ID": "id", "TENCENTCLOUD_SECRET_KEY": "key"}
    check = check_access(make(assume_role={"role_arn": "qcs::cam::uin/1:roleName/x"}), env)
    assert [f for f, _ in check.issues] == ["assume_role.session_name"]
    env_role = {**env, "TENCENTCLOUD_ASSUME_ROLE_ARN": "qcs::cam::uin/1:roleName/x",
                "TENCENTCLOUD_ASSUME_ROLE_SESSION_NAME": "s",
                "TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION": "soon"}  # fmt: skip
    check = check_access(make(), env_role)
    assert [f for f, _ in check.issues] == ["assume_role.session_duration"]
    env_role["TENCENTCLOUD_ASSUME_ROLE_SESSION_DURATION"] = "900"
    check = check_access(make(), env_role)
    assert check.ok and check.role is not None and check.role.duration == 900


def test_known_regions_come_from_the_shipped_describe_regions_data() -> None:
    assert len(known_regions()) == 22 and "ap-guangzhou" in known_regions()
    # tccli prints the bare response; the API wraps it in "Response": both load.
    bare = {"TotalCount": 1, "RegionSet": [{"Region": "ap-x", "RegionState": "AVAILABLE"}]}
    assert _region_set(bare) == _region_set({"Response": bare})


def test_the_emulator_regions_and_zones_pass_the_strict_check() -> None:
    """Emulator builds must not rely on the endpoint's leniency: its regions are real ones."""
    for region in REGIONS:
        for zone in zones(region):
            issues, warnings = check_regions(region, zone["Zone"], [], lenient_because="")
            assert issues == [] and warnings == [], (region, zone)
