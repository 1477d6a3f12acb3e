"""Whole templates: bake.yml and Packer JSON, the seed template, and each bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeansible.config.load import load_template
from bakeansible.config.playbook import playbook_template
from bakeansible.errors import BakeError, ConfigError, ConfigIssue

from .conftest import NOW


def load(path: Path, **kw):  # noqa: ANN001, ANN201
    kw.setdefault("env", {})
    return load_template(path, now=NOW, **kw)


def issues_of(path: Path, **kw) -> list[ConfigIssue]:  # noqa: ANN003
    with pytest.raises(ConfigError) as exc:
        load(path, **kw)
    return exc.value.issues


def test_bake_yml_two_builds(fixtures: Path) -> None:
    t = load(fixtures / "bake-two-builds.yml")
    assert t.source_format == "bake"
    assert [b.name for b in t.builds] == ["web", "db"]
    web, db = t.builds
    assert web.config.source == "debian:bookworm"
    assert web.config.image_name == "web-20240305"
    assert web.config.extra_packages == ("nginx",)
    assert db.config.ssh_timeout == 120.0
    # Top-level provisioners that apply, then the build's own.
    assert [p.type for p in web.provisioners] == ["ansible", "shell", "shell"]
    assert [p.type for p in db.provisioners] == ["ansible"]
    ansible = web.provisioners[0]
    assert (ansible.pause_before, ansible.timeout, ansible.max_retries) == (10.0, 90.0, 2)
    # Jinja2 for Ansible is left alone; Packer calls are evaluated.
    assert ansible.config.extra_vars == {
        "os": "{{ ansible_facts.os_family | lower }}",
        "item": "{{ item }}",
    }
    assert web.provisioners[1].config.inline == ("echo HELLO",)
    assert web.provisioners[2].config.inline == ("echo built web from local",)
    assert [p.type for p in web.post_processors] == ["manifest", "checksum"]
    assert web.post_processors[1].options["checksum_types"] == ("sha256",)
    assert t.variables["api_token"].sensitive
    assert t.sensitive_values() == ["s3cr3t-token"]


def test_bake_yml_builds_as_mapping(tmp_path: Path) -> None:
    path = tmp_path / "bake.yml"
    path.write_text("builds:\n  one: {type: local}\n  two:\n    type: local\n")
    assert [b.name for b in load(path).builds] == ["one", "two"]


def test_packer_template_functions(fixtures: Path) -> None:
    t = load(
        fixtures / "packer-functions.json",
        env={"BAKE_TEST_HOME": "/home/x"},
        var_args=["required_one=1"],
    )
    assert t.source_format == "packer"
    first, second = t.builds
    assert (first.name, second.name) == ("first", "local")
    assert first.config.image_name == f"my-app-{int(NOW.timestamp())}"
    assert first.config.output_dir == f"{fixtures}/out/first/local"
    assert second.config.image_name == "cbonanabonono"
    assert t.variables["home"].value == "/home/x"
    assert t.variables["derived"].value == "My App-x"
    ansible = first.provisioners[0].config
    assert ansible.extra_arguments == ("--extra-vars", "who=/home/x")
    assert ansible.inventory_file_template == "{{ .HostAlias }} ansible_host={{ .Host }}"
    # `override` applies per build; `only` keeps the shell provisioner off the second build.
    assert first.provisioners[1].config.inline == ("echo overridden first",)
    assert [p.type for p in second.provisioners] == ["ansible"]
    assert [p.type for p in first.post_processors] == ["manifest", "checksum"]
    notes = " | ".join(t.notes)
    assert "min_packer_version" in notes
    assert "use_proxy is ignored: bake always connects directly" in notes


def test_seed_template_validates_with_real_tencent_config(fixtures: Path) -> None:
    from bakeansible.builders.tencentcloud.config import TencentCvmConfig

    t = load(
        fixtures / "packer-seed-cvm.json",
        env={"TENCENTCLOUD_ACCESS_KEY": "AKIDexample", "TENCENTCLOUD_SECRET_KEY": "secret-key"},
    )
    (build,) = t.builds
    assert build.name == "tencentcloud-cvm"
    assert isinstance(build.config, TencentCvmConfig)
    assert build.config.secret_id == "AKIDexample"
    assert build.config.secret_key == "secret-key"
    assert build.config.instance_type == "S2.SMALL1"
    assert build.config.associate_public_ip_address is True
    assert build.provisioners[0].config.inline[1] == "yum install -y nginx"


def test_shared_seed_is_the_fixture(fixtures: Path) -> None:
    shared = Path("/work/shared/fixtures/seed-cvm-template.json")
    if shared.exists():
        assert shared.read_text() == (fixtures / "packer-seed-cvm.json").read_text()


# --- bad input: each names file, line and column, field path, what was expected -------------


def test_unknown_builder_type(fixtures: Path) -> None:
    (issue,) = issues_of(fixtures / "bad-unknown-builder.yml")
    assert issue.file.endswith("bad-unknown-builder.yml")
    assert (issue.line, issue.column, issue.path) == (3, 11, "builds[1].type")
    assert "unknown builder type `tencentcloud-cmv`" in issue.message
    assert "did you mean `tencentcloud-cvm`?" in issue.message


def test_unknown_provisioner_type(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"builders": [{"type": "local"}],\n "provisioners": [{"type": "shel"}]}')
    (issue,) = issues_of(path)
    assert (issue.line, issue.path) == (2, "provisioners[0].type")
    assert "unknown provisioner type `shel`; did you mean `shell`?" in issue.message


def test_unknown_key(fixtures: Path) -> None:
    (issue,) = issues_of(fixtures / "bad-unknown-key.json")
    assert (issue.line, issue.column, issue.path) == (7, 7, "builders[0].instnace_type")
    assert "did you mean `instance_type`?" in issue.message


def test_wrong_type_and_nested_path(fixtures: Path) -> None:
    first, second = issues_of(fixtures / "bad-wrong-type.yml")
    assert (first.path, first.line, first.column) == ("builds[1].compression_level", 5, 24)
    assert first.message == "expected an integer, got string 'lots'"
    assert (second.path, second.line) == ("builds[1].provisioners[0].inline", 8)
    assert second.message == "expected a list of strings, got string 'echo hi'"


def test_missing_required_field(fixtures: Path) -> None:
    (issue,) = issues_of(fixtures / "bad-missing-field.yml")
    assert (issue.path, issue.line, issue.column) == ("provisioners[0]", 4, 5)
    assert "missing required key `playbook_file`" in issue.message


def test_missing_required_variables(fixtures: Path) -> None:
    (issue,) = issues_of(fixtures / "bad-required-vars.json")
    assert (issue.path, issue.line) == ("variables", 2)
    assert "missing required variables: region, zone" in issue.message


def test_unknown_template_function_and_env_outside_defaults(fixtures: Path) -> None:
    fn, env = issues_of(fixtures / "bad-unknown-function.json")
    assert (fn.path, fn.line, fn.column) == ("builders[0].image_name", 5, 21)
    assert "unknown template function `nowtime`" in fn.message
    assert env.path == "provisioners[0].inline[0]"
    assert "only allowed in variable defaults" in env.message


def test_all_issues_together(fixtures: Path) -> None:
    issues = issues_of(fixtures / "bad-many.yml")
    assert [i.path for i in issues] == [
        "variables",
        "builds[0].ssh_timout",
        "builds[1].type",
        "provisioners[0].inline[0]",
        "provisioners[0].pause_before",
    ]
    assert all(i.line for i in issues)


def test_bad_var_syntax(fixtures: Path) -> None:
    (issue,) = issues_of(fixtures / "bake-two-builds.yml", var_args=["suite"])
    assert issue.file == "<command line>" and "expected -var name=value" in issue.message


def test_unreadable_var_file(fixtures: Path, tmp_path: Path) -> None:
    (issue,) = issues_of(fixtures / "bake-two-builds.yml", var_files=[tmp_path / "gone.json"])
    assert issue.file == str(tmp_path / "gone.json") and "not found" in issue.message


def test_var_files_in_template(fixtures: Path) -> None:
    t = load(
        fixtures / "bake-two-builds.yml",
        var_files=[fixtures / "vars.json", fixtures / "vars.yml"],
    )
    assert t.builds[0].config.source == "debian:from-yaml"
    assert t.builds[0].config.extra_packages == ("a", "b")


@pytest.mark.parametrize(
    ("only", "except_", "names"),
    [
        (["web"], [], ["web"]),
        (["w*,db"], [], ["web", "db"]),
        ([], ["d?"], ["web"]),
        (["*"], ["web"], ["db"]),
    ],
)
def test_only_except(fixtures: Path, only: list[str], except_: list[str], names: list[str]) -> None:
    t = load(fixtures / "bake-two-builds.yml", only=only, except_=except_)
    assert [b.name for b in t.builds] == names


def test_only_matching_nothing(fixtures: Path) -> None:
    (issue,) = issues_of(fixtures / "bake-two-builds.yml", only=["nope*"])
    assert issue.message.startswith("No builds to run: -only=nope* left none of: web, db")


def test_duplicate_build_names(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text("builds:\n  - type: local\n  - type: local\n")
    (issue,) = issues_of(path)
    assert issue.path == "builds[1]" and "duplicate build name `local`" in issue.message


def test_provisioner_only_names_unknown_build(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(
        "builds:\n  - {name: web, type: local}\n"
        "provisioners:\n  - {type: shell, inline: [x], only: [wbe]}\n"
    )
    (issue,) = issues_of(path)
    assert issue.path == "provisioners[0].only[0]" and "did you mean `web`?" in issue.message


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("list.yml", "- a\n- b\n", "must be a mapping"),
        ("nobuilds.yml", "variables: {}\n", "no `builds`"),
        ("nobuilders.json", '{"provisioners": []}', "no `builders`"),
        ("topkey.yml", "builds: [{type: local}]\nprovisoners: []\n", "did you mean `provisioners`"),
    ],
)
def test_template_shape(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert any(message in i.message for i in issues_of(path))


def test_guards_reach_load_template(tmp_path: Path, fixtures: Path) -> None:
    for target, message in ((tmp_path, "is a directory"), (fixtures / "empty.yml", "empty")):
        (issue,) = issues_of(target)
        assert message in issue.message


def test_loading_creates_nothing(
    tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bake.yml").write_text((fixtures / "bad-many.yml").read_text())
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(ConfigError):
        load_template(Path("bake.yml"), env={})
    load(fixtures / "bake-two-builds.yml")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_env_defaults_to_process_environment(
    fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAKE_VAR_suite", "trixie")
    t = load_template(fixtures / "bake-two-builds.yml", now=NOW)
    assert t.builds[0].config.source == "debian:trixie"


# --- bake --playbook --------------------------------------------------------------------------


def test_playbook_alone_gives_a_local_build(tmp_path: Path) -> None:
    playbook = tmp_path / "site.yml"
    playbook.write_text("- hosts: all\n")
    t = playbook_template(playbook, options={"extra_arguments": ["-v"]})
    (build,) = t.builds
    assert (build.name, build.type) == ("local", "local")
    (prov,) = build.provisioners
    assert prov.config.playbook_file == str(playbook)
    assert prov.config.extra_arguments == ("-v",)


def test_playbook_appended_to_every_build(tmp_path: Path, fixtures: Path) -> None:
    playbook = tmp_path / "site.yml"
    playbook.write_text("- hosts: all\n")
    base = load(fixtures / "bake-two-builds.yml")
    t = playbook_template(playbook, base=base)
    assert [b.provisioners[-1].config.playbook_file for b in t.builds] == [str(playbook)] * 2
    assert len(t.builds[1].provisioners) == len(base.builds[1].provisioners) + 1


def test_playbook_missing(tmp_path: Path) -> None:
    with pytest.raises(BakeError, match="not found"):
        playbook_template(tmp_path / "nope.yml")


def test_load_var_args(fixtures: Path) -> None:
    from bakeansible.config.variables.files import load_var_args

    values = load_var_args(["suite=cli", "x=1"], [fixtures / "vars.json"])
    assert values == {"suite": "cli", "packages": ["a", "b"], "x": "1"}
    with pytest.raises(ConfigError) as exc:
        load_var_args(["bad"], [fixtures / "missing.json"])
    assert len(exc.value.issues) == 2


def test_sensitive_values_masked_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(
        "variables:\n  level: {default: 'topsecret9', sensitive: true}\n"
        'builds:\n  - type: local\n    compression_level: "{{user `level`}}"\n'
    )
    (issue,) = issues_of(path)
    assert "topsecret9" not in issue.message and "<sensitive>" in issue.message
