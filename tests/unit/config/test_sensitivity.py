"""Variables that flow into a secret field are sensitive, whether the template says so or not."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from bakeansible.config.fields import opt
from bakeansible.config.load import load_template
from bakeansible.config.sensitivity import secret_values
from bakeansible.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "templates"
SECRET = "s3cr3t-from-env-9f2c"


def test_seed_template_variables_are_sensitive_and_keep_their_expression() -> None:
    env = {"TENCENTCLOUD_ACCESS_KEY": "AKIDseed", "TENCENTCLOUD_SECRET_KEY": SECRET}
    template = load_template(FIXTURES / "packer-seed-cvm.json", env=env)
    var = template.variables["tc_secret_key"]
    assert var.sensitive and var.sensitive_reason and var.value == SECRET
    assert var.expression() == "{{env `TENCENTCLOUD_SECRET_KEY`}}"
    assert SECRET in template.sensitive_values()


def _packer(tmp_path: Path, variables: dict[str, str], builder: dict[str, object]) -> Path:
    base = {"type": "tencentcloud-cvm", "region": "ap-guangzhou", "zone": "ap-guangzhou-3",
            "instance_type": "S2.SMALL1", "source_image_id": "img-9qabwvbn",
            "image_name": "img"}  # fmt: skip
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"variables": variables, "builders": [{**base, **builder}]}))
    return path


def test_flow_through_another_variables_default(tmp_path: Path) -> None:
    path = _packer(
        tmp_path,
        {"raw": "{{env `PW`}}", "prefix": "p-", "pw": "{{user `prefix`}}{{user `raw`}}",
         "unrelated": "{{env `HOME`}}"},  # fmt: skip
        {"ssh_password": "{{user `pw`}}"},
    )
    template = load_template(path, env={"PW": SECRET, "HOME": "/root"})
    sensitive = {n for n, v in template.variables.items() if v.sensitive}
    assert sensitive == {"raw", "prefix", "pw"}


def test_value_from_var_flag_is_masked_in_errors(tmp_path: Path) -> None:
    # The secret also reaches a field whose error repeats the value.
    path = _packer(
        tmp_path,
        {"key": ""},
        {"secret_key": "{{user `key`}}", "source_image_id": "{{user `key`}}"},
    )
    with pytest.raises(ConfigError) as err:
        load_template(path, var_args=[f"key={SECRET}"], env={})
    assert "source_image_id" in err.value.message
    assert SECRET not in err.value.message and "<sensitive>" in err.value.message


@dataclass(frozen=True)
class Inner:
    token: str = opt("", secret=True)


@dataclass(frozen=True)
class Outer:
    password: str = opt("", secret=True, aliases=("pass",))
    name: str = opt("")
    inner: Inner = opt(factory=Inner)
    many: tuple[Inner, ...] = opt(factory=tuple)


def test_nested_and_aliased_secret_fields() -> None:
    found = secret_values(
        Outer,
        {"pass": "a", "name": "b", "inner": {"token": "c"}, "many": [{"token": "d"}]},
    )
    assert found == ["a", "c", "d"]


def test_bake_yml_variable_feeding_a_secret_is_masked_in_inspect(tmp_path: Path) -> None:
    from bakeansible.cli.inspect import describe

    path = tmp_path / "bake.yml"
    path.write_text(
        "variables:\n"
        "  key: \"{{env `K`}}\"\n"
        "  key_copy: {default: x}\n"
        "builds:\n"
        "  - type: tencentcloud-cvm\n"
        "    secret_id: id\n"
        "    secret_key: \"{{user `key`}}\"\n"
        "    region: ap-guangzhou\n"
        "    zone: ap-guangzhou-3\n"
        "    instance_type: S2.SMALL1\n"
        "    source_image_id: img-9qabwvbn\n"
        "    image_name: img\n"
    )
    template = load_template(path, env={"K": SECRET}, var_args=["key_copy=" + SECRET])
    assert template.variables["key"].sensitive
    text = "\n".join(describe(template))
    assert 'key = "{{env `K`}}"' in text
    # key_copy holds the same text but feeds nothing secret: shown, as the user gave it.
    assert f'key_copy = "{SECRET}"' in text
