"""`bake instance up` and `bake test` with Tencent options: refused with every problem listed,
and nothing created, before any API call; the cloud's options refused with a local source."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bakeansible.errors import BakeError, ConfigError
from bakeansible.instances.lifecycle import start_instance
from bakeansible.instances.tencent import CloudOptions, cvm_config, cvm_states
from bakeansible.pipeline.journal import Journal
from bakeansible.ui import RecordingUi

IMAGE = "img-eb30mz89"
GOOD = CloudOptions(region="ap-guangzhou", zone="ap-guangzhou-3", instance_type="S5.MEDIUM2")
CREDS = {"TENCENTCLOUD_SECRET_ID": "id", "TENCENTCLOUD_SECRET_KEY": "key"}


@pytest.fixture
def no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment without credentials or a tccli profile; bake's state dir in tmp_path."""
    monkeypatch.setenv("BAKE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("BAKE_DATABASE_URL", raising=False)
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_ACCESS_KEY",
                 "TENCENTCLOUD_REGION", "TENCENTCLOUD_ENDPOINT", "TENCENTCLOUD_PROFILE"):
        monkeypatch.delenv(name, raising=False)  # fmt: skip
    monkeypatch.setenv("TENCENTCLOUD_SHARED_CREDENTIALS_DIR", str(tmp_path / "tccli"))
    return {"TENCENTCLOUD_SHARED_CREDENTIALS_DIR": str(tmp_path / "tccli")}


def up(source: str, cloud: CloudOptions, env: dict[str, str]) -> None:
    start_instance(
        source, "x", ui=RecordingUi(), cancel=threading.Event(), cloud=cloud, env=env,
        project_dir=Path("/nonexistent"),
    )  # fmt: skip


def test_every_problem_is_listed_and_nothing_created(
    no_profile: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        up(IMAGE, CloudOptions(ttl="soon"), no_profile)
    paths = [issue.path for issue in caught.value.issues]
    for option in ("--ttl", "--zone", "--instance-type", "--region", "secret_id", "secret_key"):
        assert option in paths, caught.value.message
    assert caught.value.hint and "--zone" in caught.value.hint
    assert not (tmp_path / "state").exists(), "nothing may be created before the input is good"


def test_ttl_sets_the_expiry_and_must_be_positive(no_profile: dict[str, str]) -> None:
    env = {**no_profile, **CREDS}
    default = cvm_config(IMAGE, GOOD, "root", command="c", env=env, default_ttl="24h")
    assert default.max_build_time == 24 * 3600 and default.associate_public_ip_address
    ttl = CloudOptions(**{**GOOD.__dict__, "ttl": "1h30m", "private_ip": True})
    config = cvm_config(IMAGE, ttl, "root", command="c", env=env, default_ttl="24h")
    assert config.max_build_time == 5400 and not config.associate_public_ip_address
    for bad in ("0s", "-1h", "1 day"):
        with pytest.raises(ConfigError, match="--ttl"):
            cvm_config(IMAGE, CloudOptions(**{**GOOD.__dict__, "ttl": bad}), "root",
                       command="c", env=env)  # fmt: skip


def test_a_zone_outside_the_region_is_refused(no_profile: dict[str, str]) -> None:
    bad = CloudOptions(region="ap-guangzhou", zone="ap-shanghai-2", instance_type="S5.MEDIUM2")
    with pytest.raises(ConfigError, match="--zone"):
        cvm_config(IMAGE, bad, "root", command="c", env={**no_profile, **CREDS})


@pytest.mark.parametrize(
    "cloud",
    [CloudOptions(zone="ap-guangzhou-3"), CloudOptions(ttl="1h"), CloudOptions(private_ip=True),
     CloudOptions(region="r", instance_type="t")],
    ids=["zone", "ttl", "private-ip", "region and type"],
)  # fmt: skip
def test_cloud_options_are_refused_for_a_local_source(
    no_profile: dict[str, str], tmp_path: Path, cloud: CloudOptions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    def no_boot(*_args: object) -> None:
        raise AssertionError("a local source with cloud options got as far as booting")

    # Should the refusal break, this unit test must not boot a real container.
    monkeypatch.setattr("bakeansible.instances.lifecycle.check_boot", no_boot)
    with pytest.raises(BakeError, match="only for a Tencent Cloud image") as caught:
        up("debian:bookworm", cloud, no_profile)
    for option in cloud.given():
        assert option in caught.value.message
    assert not (tmp_path / "state").exists()


def test_bake_test_refuses_cloud_options_for_a_tarball_and_checks_an_image(
    no_profile: dict[str, str],
) -> None:
    from bakeansible.cli.check_image import run_test

    with pytest.raises(BakeError, match="--zone: only for a Tencent Cloud image"):
        run_test("out/x.tar.zst", (), ("true",), (), "root", False, CloudOptions(zone="z"))
    with pytest.raises(ConfigError) as caught:
        run_test(IMAGE, (), ("true",), (), "root", False, CloudOptions())
    assert {"--zone", "--instance-type"} <= {i.path for i in caught.value.issues}


def test_list_says_unknown_when_the_api_cannot_be_reached(
    no_profile: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    journal = Journal(tmp_path / "journal.sqlite")
    journal.start_build("b1", "cvm", "instance")
    data = {"region": "ap-guangzhou", "cvm_endpoint": "http://127.0.0.1:9", "vpc_endpoint":
            "http://127.0.0.1:9"}  # fmt: skip
    rid = journal.intend("b1", "tencent.instance", **data)
    journal.created(rid, "ins-12345678")
    journal.start_build("b2", "gone", "instance")
    states = cvm_states(journal, ["b1", "b2"])
    assert states["b1"].startswith("unknown (") and states["b2"] == "gone"
