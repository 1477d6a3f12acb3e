"""Validation of the tencentcloud-cvm options, as decoded from a template."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bakeansible.builders.tencentcloud.access import check_access
from bakeansible.builders.tencentcloud.config import TencentCvmConfig, config_issues
from bakeansible.builders.tencentcloud.credentials import (
    resolve_credentials,
    resolve_endpoints,
    resolve_region,
)
from bakeansible.config.decode import decode
from bakeansible.errors import ConfigError

SEED = {
    "type": "tencentcloud-cvm",
    "secret_id": "AKIDexample",
    "secret_key": "secretexample",
    "region": "ap-guangzhou",
    "zone": "ap-guangzhou-3",
    "instance_type": "S2.SMALL1",
    "disk_type": "CLOUD_PREMIUM",
    "associate_public_ip_address": True,
    "source_image_id": "img-9qabwvbn",
    "ssh_username": "root",
    "image_name": "nginx-service-v1",
}


def make(**over: object) -> TencentCvmConfig:
    data = {k: v for k, v in {**SEED, **over}.items() if k != "type"}
    config, issues = decode(TencentCvmConfig, data, file="t.json")
    assert not issues, issues
    return config


def fields_of(config: TencentCvmConfig, region: str = "ap-guangzhou") -> list[str]:
    """Fields with a problem, as the preflight sees them (credentials come from the config)."""
    check = check_access(replace(config, region=region), env={})
    return [f for f, _ in check.issues] + [i.path for i in config_issues(config)]


def decode_problems(**over: object) -> list[str]:
    """Fields named in the decoder's issue (the config refuses to exist with static errors)."""
    data = {k: v for k, v in {**SEED, **over}.items() if k != "type"}
    config, issues = decode(TencentCvmConfig, data, file="t.json")
    assert config is None and len(issues) == 1, issues
    return [part.split(":")[0] for part in issues[0].message.split("; ")]


def test_seed_template_is_valid() -> None:
    config = make()
    assert config.disk_size == 50 and config.instance_charge_type == "POSTPAID_BY_HOUR"
    assert fields_of(config) == []


def test_packer_field_names_decode() -> None:
    config = make(
        data_disks=[{"disk_type": "CLOUD_SSD", "disk_size": 20}],
        run_tag=[{"key": "a", "value": "1"}],
        run_tags={"b": "2"},
        assume_role={"role_arn": "qcs::cam::uin/1:roleName/x", "session_name": "s"},
        ssh_timeout="10m",
        subnect_cidr_block="10.0.8.0/24",
        image_copy_regions=["ap-shanghai", "ap-guangzhou", "ap-shanghai"],
    )
    assert config.ssh_timeout == 600.0
    assert config.data_disks[0].disk_size == 20
    assert config.all_run_tags() == {"b": "2", "a": "1"}
    assert config.copy_regions("ap-guangzhou") == ["ap-shanghai"]
    assert config.subnet_cidr_block == "10.0.8.0/24", "Packer's subnect_ spelling is an alias"
    assert fields_of(config) == []


def test_secret_fields_are_marked_secret() -> None:
    from dataclasses import fields

    secret = {f.name for f in fields(TencentCvmConfig) if f.metadata.get("secret")}
    assert {"secret_id", "secret_key", "security_token", "ssh_password"} <= secret


def test_all_issues_are_reported_together() -> None:
    found = decode_problems(
        zone="",
        image_name="",
        instance_type="",
        source_image_id="bad",
        disk_type="FLOPPY",
        subnet_id="subnet-1",
        user_data="x",
        user_data_file="/nonexistent",
        communicator="winrm",
        temporary_security_group_source_cidrs=["nope"],
    )
    for name in ("zone", "image_name", "instance_type", "source_image_id", "disk_type",
                 "subnet_id", "user_data_file", "communicator",
                 "temporary_security_group_source_cidrs"):  # fmt: skip
        assert name in found, name


def test_region_list_unless_endpoint_or_skip() -> None:
    config = make(region="xx-nowhere", zone="xx-nowhere-1")
    assert "region" in fields_of(config, "xx-nowhere")
    for lenient in (replace(config, endpoint="http://127.0.0.1:9"),
                    replace(config, skip_region_validation=True)):  # fmt: skip
        check = check_access(lenient, env={})
        assert check.issues == () and check.ok
        assert len(check.warnings) == 1 and "`xx-nowhere`" in check.warnings[0]


def test_endpoints_must_be_paired_and_well_formed() -> None:
    assert "vpc_endpoint" in decode_problems(cvm_endpoint="http://127.0.0.1:8080")
    assert "endpoint" in decode_problems(endpoint="ftp://x y")


def test_source_image_name_must_compile_and_one_source_needed() -> None:
    assert "source_image_id" in decode_problems(source_image_id="")
    assert "source_image_name" in decode_problems(source_image_id="", source_image_name="(")


def test_subnet_must_fit_vpc() -> None:
    bad = decode_problems(cidr_block="10.0.0.0/16", subnet_cidr_block="192.168.0.0/24")
    assert "subnet_cidr_block" in bad


def test_keypair_name_must_be_an_id_with_a_key() -> None:
    found = decode_problems(ssh_keypair_name="mykey")
    assert "ssh_keypair_name" in found and "ssh_private_key_file" in found


def test_credentials_from_config_env_and_profile(tmp_path: Path) -> None:
    creds = resolve_credentials("id", "key", env={})
    assert (creds.secret_id, creds.secret_key, creds.source) == ("id", "key", "config")
    env = {"TENCENTCLOUD_ACCESS_KEY": "envid", "TENCENTCLOUD_SECRET_KEY": "envkey",
           "TENCENTCLOUD_SESSION_TOKEN": "tok"}  # fmt: skip
    creds = resolve_credentials(env=env)
    assert (creds.secret_id, creds.token, creds.source) == ("envid", "tok", "environment")
    (tmp_path / "dev.credential").write_text(json.dumps({"secretId": "pid", "secretKey": "pk"}))
    (tmp_path / "dev.configure").write_text(json.dumps({"_sys_param": {"region": "ap-tokyo"}}))
    env = {"TENCENTCLOUD_PROFILE": "dev", "TENCENTCLOUD_SHARED_CREDENTIALS_DIR": str(tmp_path)}
    creds = resolve_credentials(env=env)
    assert (creds.secret_id, creds.secret_key) == ("pid", "pk")
    assert resolve_region("", env=env) == "ap-tokyo"
    assert "pk" not in repr(creds)


def test_missing_credentials_name_both_fields(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        resolve_credentials(env={"TENCENTCLOUD_SHARED_CREDENTIALS_DIR": str(tmp_path)})
    assert [i.path for i in err.value.issues] == ["secret_id", "secret_key"]


def test_endpoint_resolution() -> None:
    assert resolve_endpoints("", "", "", {"TENCENTCLOUD_ENDPOINT": "h:1"}) == ("h:1", "h:1")
    assert resolve_endpoints("e", "c", "", {}) == ("c", "e")


def test_files_are_checked_at_preflight_not_at_decode(tmp_path: Path) -> None:
    config = make(user_data_file=str(tmp_path / "missing"))
    assert fields_of(config) == ["user_data_file"]


def test_zone_must_be_in_the_region() -> None:
    assert fields_of(make(zone="ap-shanghai-2")) == ["zone"]
