"""The config commands through click: validate, inspect, fmt, convert, schema, and run_cli."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bakeansible.cli import convert, fmt, inspect, schema, validate
from bakeansible.cli.options import run_cli, selection_options, variable_options
from bakeansible.errors import BakeError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "templates"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("BAKE_DEBUG", raising=False)
    return CliRunner()


def test_validate_ok(runner: CliRunner) -> None:
    result = runner.invoke(validate.command, [str(FIXTURES / "bake-two-builds.yml")])
    assert result.exit_code == 0, result.output
    assert "The configuration is valid." in result.stdout


def test_validate_defaults_to_bake_yml(runner: CliRunner) -> None:
    with runner.isolated_filesystem():
        Path("bake.yml").write_text((FIXTURES / "bake-two-builds.yml").read_text())
        result = runner.invoke(validate.command, [])
    assert result.exit_code == 0, result.output


def test_validate_packer_seed(runner: CliRunner) -> None:
    result = runner.invoke(
        validate.command,
        [str(FIXTURES / "packer-seed-cvm.json")],
        env={"TENCENTCLOUD_ACCESS_KEY": "AKIDx", "TENCENTCLOUD_SECRET_KEY": "sk"},
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["bad-many.yml"], "5 configuration errors"),
        (["bad-unknown-key.json"], "bad-unknown-key.json:7:7: builders[0].instnace_type"),
        (["bad-malformed.json"], "bad-malformed.json:5:3: malformed JSON"),
        (["bake-two-builds.yml", "-var", "oops"], "expected -var name=value"),
        (["bake-two-builds.yml", "--var-file", "nope.json"], "nope.json: variable file not found"),
        (["bake-two-builds.yml", "-only", "x*"], "No builds to run"),
        (["bake-two-builds.yml", "--except", "web,db"], "No builds to run"),
    ],
)
def test_validate_errors(runner: CliRunner, args: list[str], expected: str) -> None:
    args = [str(FIXTURES / args[0]), *args[1:]]
    result = runner.invoke(validate.command, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_validate_syntax_only(runner: CliRunner) -> None:
    ok = runner.invoke(validate.command, [str(FIXTURES / "bad-many.yml"), "-syntax-only"])
    assert ok.exit_code == 0 and "Syntax-only check passed" in ok.stdout
    bad = runner.invoke(validate.command, [str(FIXTURES / "bad-malformed.yml"), "--syntax-only"])
    assert bad.exit_code == 1 and "malformed YAML" in bad.stderr


def test_validate_notes_go_to_stderr(runner: CliRunner) -> None:
    result = runner.invoke(
        validate.command,
        [str(FIXTURES / "packer-functions.json"), "-var", "required_one=1"],
        env={"BAKE_TEST_HOME": "/h"},
    )
    assert result.exit_code == 0, result.output
    assert "Note: " in result.stderr and "use_proxy is ignored" in result.stderr


def test_invalid_template_creates_nothing(runner: CliRunner) -> None:
    with runner.isolated_filesystem() as cwd:
        Path("bake.yml").write_text((FIXTURES / "bad-many.yml").read_text())
        result = runner.invoke(validate.command, [])
        assert result.exit_code == 1
        assert sorted(p.name for p in Path(cwd).rglob("*")) == ["bake.yml"]


def test_inspect_masks_sensitive(runner: CliRunner) -> None:
    result = runner.invoke(inspect.command, [str(FIXTURES / "bake-two-builds.yml")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "api_token = <sensitive>  [sensitive]  # Token for the app" in out
    assert "s3cr3t" not in out
    assert "  web (local)\n    provisioner: ansible" in out
    assert "ansible [pause_before 10s, timeout 90s, max_retries 2]" in out
    assert "shell web only (only: web)" in out
    assert "Post-processors:\n  manifest\n  checksum" in out


def test_inspect_masks_packer_sensitive(runner: CliRunner) -> None:
    result = runner.invoke(
        inspect.command, [str(FIXTURES / "packer-functions.json"), "-var", "required_one=1"]
    )
    assert result.exit_code == 0, result.output
    assert "password = <sensitive>" in result.stdout and "hunter22" not in result.stdout


def test_fmt_check_diff_write(runner: CliRunner) -> None:
    with runner.isolated_filesystem():
        Path("bake.yml").write_text("builds:\n- type: local\n  name: a\n")
        check = runner.invoke(fmt.command, ["-check"])
        assert check.exit_code == 1 and "bake.yml is not formatted" in check.stderr
        diff = runner.invoke(fmt.command, ["-diff"])
        assert diff.exit_code == 0 and "+  - name: a" in diff.stdout
        assert Path("bake.yml").read_text() == "builds:\n- type: local\n  name: a\n"
        write = runner.invoke(fmt.command, [])
        assert write.exit_code == 0
        assert Path("bake.yml").read_text() == "builds:\n  - name: a\n    type: local\n"
        assert runner.invoke(fmt.command, ["--check"]).exit_code == 0


def test_fmt_refuses_json_and_comments(runner: CliRunner) -> None:
    result = runner.invoke(fmt.command, [str(FIXTURES / "packer-seed-cvm.json")])
    assert result.exit_code == 1 and "bake convert" in result.stderr
    with runner.isolated_filesystem():
        Path("bake.yml").write_text("builds:\n  - type: local # why\n")
        result = runner.invoke(fmt.command, [])
        assert result.exit_code == 1 and "comments" in result.stderr
        assert Path("bake.yml").read_text() == "builds:\n  - type: local # why\n"


def test_convert(runner: CliRunner) -> None:
    result = runner.invoke(convert.command, [str(FIXTURES / "packer-seed-cvm.json")])
    assert result.exit_code == 0, result.output
    assert "builds:\n  - type: tencentcloud-cvm" in result.stdout
    assert "secret_id: '{{user `tc_secret_id`}}'" in result.stdout
    with runner.isolated_filesystem():
        out = runner.invoke(
            convert.command, [str(FIXTURES / "packer-seed-cvm.json"), "-o", "b.yml"]
        )
        assert out.exit_code == 0 and Path("b.yml").read_text() == result.stdout
    bad = runner.invoke(convert.command, [str(FIXTURES / "bake-two-builds.yml")])
    assert bad.exit_code == 1


def test_schema(runner: CliRunner) -> None:
    result = runner.invoke(schema.command, [])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["title"] == "bake.yml" and "build" in data["$defs"]


# --- shared options and run_cli ----------------------------------------------------------------


@click.command()
@variable_options
@selection_options
@click.option("--debug", is_flag=True)
@run_cli
def probe(
    var_args: tuple[str, ...],
    var_files: tuple[Path, ...],
    only: tuple[str, ...],
    except_: tuple[str, ...],
    debug: bool,
) -> None:
    click.echo(json.dumps([var_args, [str(f) for f in var_files], only, except_]))
    if "fail" in var_args:
        raise BakeError("it broke", hint="do this")


def test_single_and_double_dash_spellings(runner: CliRunner) -> None:
    result = runner.invoke(
        probe,
        ["-var", "a=1", "--var", "b=2", "-var=c=3", "-var-file", "f1", "--var-file=f2",
         "-only", "x,y", "--only", "z", "-except", "e", "--except=f"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        ["a=1", "b=2", "c=3"],
        ["f1", "f2"],
        ["x,y", "z"],
        ["e", "f"],
    ]


def test_run_cli_error_and_debug(runner: CliRunner) -> None:
    plain = runner.invoke(probe, ["-var", "fail"])
    assert plain.exit_code == 1
    assert plain.stderr.endswith("Error: it broke\nHint: do this\n")
    assert "Traceback" not in plain.stderr
    debug = runner.invoke(probe, ["-var", "fail", "--debug"])
    assert debug.exit_code == 1 and "Traceback" in debug.stderr
    env = runner.invoke(probe, ["-var", "fail"], env={"BAKE_DEBUG": "1"})
    assert "Traceback" in env.stderr
