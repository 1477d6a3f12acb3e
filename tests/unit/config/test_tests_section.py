"""The ``tests`` section: bake.yml (top level with only/except, and per build), Packer JSON's
``_bake_tests``, and its errors with file:line and "did you mean"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakeansible.config.load import load_template
from bakeansible.config.schema import template_schema
from bakeansible.config.write import convert_packer
from bakeansible.errors import ConfigError

from .conftest import NOW

BAKE_YML = """\
builds:
  - name: web
    type: local
    tests:
      - type: shell
        inline: ["curl -fsS http://localhost/"]
        on_test_failure: keep
  - name: db
    type: local
tests:
  - type: ansible
    playbook_file: verify.yml
    extra_vars: {page: "{{build_name}}"}
    timeout: 2m
  - type: shell
    name: web only
    only: [web]
    inline: ["systemctl is-active nginx"]
"""


def test_bake_yml_tests_top_level_then_own(tmp_path: Path) -> None:
    path = tmp_path / "bake.yml"
    path.write_text(BAKE_YML)
    t = load_template(path, now=NOW, env={})
    web, db = t.builds
    assert [(s.provisioner.type, s.on_test_failure) for s in web.tests] == [
        ("ansible", "delete"),
        ("shell", "delete"),
        ("shell", "keep"),
    ]
    assert [s.provisioner.type for s in db.tests] == ["ansible"]
    verify = db.tests[0].provisioner
    assert verify.config.playbook_file == "verify.yml"
    assert verify.config.extra_vars == {"page": "db"}  # interpolated per build
    assert verify.timeout == 120.0
    assert web.tests[1].provisioner.name == "web only"
    assert not web.provisioners  # tests are not provisioners
    assert [s.provisioner.type for s in t.tests] == ["ansible", "shell"]


def test_packer_json_bake_tests_key(tmp_path: Path) -> None:
    data = {
        "_comment": "Packer reads _bake_tests as a comment",
        "builders": [{"type": "local", "name": "web"}],
        "_bake_tests": [
            {"type": "ansible", "playbook_file": "verify.yml", "on_test_failure": "keep"}
        ],
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    (build,) = load_template(path, now=NOW, env={}).builds
    assert [(s.provisioner.type, s.on_test_failure) for s in build.tests] == [("ansible", "keep")]
    converted, notes = convert_packer(data)
    assert converted["tests"] == [
        {"type": "ansible", "playbook_file": "verify.yml", "on_test_failure": "keep"}
    ]
    assert notes == ["comment keys dropped: _comment"]


def test_tests_errors_name_line_and_suggest(tmp_path: Path) -> None:
    path = tmp_path / "bake.yml"
    path.write_text(
        "builds:\n"
        "  - name: web\n"
        "    type: local\n"
        "    tests:\n"
        "      - {type: shell, inline: [x], on_test_failure: kep}\n"
        "tests:\n"
        "  - {type: shel, inline: [x]}\n"
        "  - {type: ansible, playbook_file: v.yml, only: [wbe], playbok: x}\n"
    )
    with pytest.raises(ConfigError) as exc:
        load_template(path, now=NOW, env={})
    shown = [f"{i.line}: {i.path}: {i.message}" for i in exc.value.issues]
    assert shown == [
        "5: builds[0].tests[0].on_test_failure: expected `delete` or `keep`, got `kep`; "
        "did you mean `keep`?",
        "7: tests[0].type: unknown provisioner type `shel`; did you mean `shell`? "
        "(known: ansible, shell)",
        "8: tests[1].only[0]: `wbe` matches no build; did you mean `web`? (builds: web)",
        "8: tests[1].playbok: unknown key `playbok`; did you mean `playbook`?",
    ]


def test_packer_json_misspelt_bake_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"builders": [{"type": "local"}], "_bake_test": []}))
    with pytest.raises(ConfigError) as exc:
        load_template(path, now=NOW, env={})
    assert [i.message for i in exc.value.issues] == [
        "unknown key `_bake_test`; did you mean `_bake_tests`?"
    ]


def test_tests_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "bake.yml"
    path.write_text("builds: [{type: local}]\ntests: {type: shell}\n")
    with pytest.raises(ConfigError) as exc:
        load_template(path, now=NOW, env={})
    assert [i.message for i in exc.value.issues] == ["expected a list of tests, got a mapping"]


def test_schema_has_tests() -> None:
    schema = template_schema()
    assert schema["properties"]["tests"]["items"] == {"$ref": "#/$defs/test"}
    shell = next(
        b["then"] for b in schema["$defs"]["test"]["allOf"] if b["if"]["properties"]["type"]
        ["const"] == "shell"
    )
    assert shell["properties"]["on_test_failure"]["enum"] == ["delete", "keep"]
    build = schema["$defs"]["build"]["allOf"][0]["then"]
    assert build["properties"]["tests"]["items"] == {"$ref": "#/$defs/test"}
