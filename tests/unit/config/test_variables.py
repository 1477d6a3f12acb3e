"""Variable precedence, required variables, -var syntax, var files, types."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeansible.config.interpolate import Context
from bakeansible.config.variables.declare import (
    VariableDecl,
    declare_bake_variables,
    declare_packer_variables,
)
from bakeansible.config.variables.files import parse_var_args
from bakeansible.config.variables.resolve import resolve_variables

from .conftest import NOW

DECLS = [
    VariableDecl("a", default="default-a"),
    VariableDecl("b", default="default-b"),
    VariableDecl("c", default="default-c"),
    VariableDecl("d", default="default-d"),
]


def resolve(decls=DECLS, **kw):  # noqa: ANN001, ANN201
    kw.setdefault("env", {})
    return resolve_variables(decls, ctx=Context(now=NOW, env=kw["env"]), file="t.yml", **kw)


def test_precedence(tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    first.write_text('{"b": "file1-b", "c": "file1-c", "d": "file1-d"}')
    second = tmp_path / "second.yml"
    second.write_text("c: file2-c\nd: file2-d\n")
    variables, issues, _ = resolve(
        var_files=[first, second],
        env={"BAKE_VAR_d": "env-d", "BAKE_VAR_c": "env-c"},
        var_args=["c=cli-c"],
    )
    assert not issues
    values = {n: v.value for n, v in variables.items()}
    assert values == {"a": "default-a", "b": "file1-b", "c": "cli-c", "d": "env-d"}


def test_later_var_wins_and_values_may_contain_equals() -> None:
    variables, issues, _ = resolve(var_args=["a=1", "a=x=y"])
    assert not issues and variables["a"].value == "x=y"


def test_missing_required_listed_at_once() -> None:
    decls = [VariableDecl("one", required=True), VariableDecl("two", required=True)]
    _, issues, _ = resolve(decls)
    assert len(issues) == 1
    assert "missing required variables: one, two" in issues[0].message
    assert issues[0].path == "variables"


@pytest.mark.parametrize("arg", ["novalue", "=x", "bad name=1", ""])
def test_bad_var_syntax(arg: str) -> None:
    _, issues = parse_var_args([arg])
    assert len(issues) == 1
    assert issues[0].path == "-var" and "expected -var name=value" in issues[0].message
    assert issues[0].file == "<command line>"


def test_undeclared_var_suggests() -> None:
    _, issues, _ = resolve(var_args=["aa=1"])
    assert "not declared" in issues[0].message and "did you mean `a`?" in issues[0].message


def test_unreadable_var_files(tmp_path: Path) -> None:
    locked = tmp_path / "locked.json"
    locked.write_text("{}")
    locked.chmod(0)
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": ')
    _, issues, _ = resolve(var_files=[tmp_path / "missing.json", tmp_path, broken, locked])
    files = [i.file for i in issues]
    assert str(tmp_path / "missing.json") in files
    assert str(tmp_path) in files
    assert str(broken) in files
    messages = " | ".join(i.message for i in issues)
    assert "not found" in messages and "is a directory" in messages and "malformed" in messages


def test_var_file_undeclared_is_a_note(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text('{"zzz": 1}')
    _, issues, notes = resolve(var_files=[path])
    assert not issues and "zzz" in notes[0]


def test_env_default_and_user_references() -> None:
    decls = [
        VariableDecl("home", default="{{env `HOME`}}"),
        VariableDecl("sub", default="{{user `home`}}/sub"),
        VariableDecl("loop1", default="{{user `loop2`}}"),
        VariableDecl("loop2", default="{{user `loop1`}}"),
    ]
    variables, issues, _ = resolve(decls, env={"HOME": "/h"})
    assert variables["sub"].value == "/h/sub"
    assert any("loop" in i.message for i in issues)


def test_packer_declarations() -> None:
    decls, issues = declare_packer_variables(
        {"a": None, "b": "x", "n": 3, "t": True}, ["b", "nope"], file="t.json", positions=None
    )
    by = {d.name: d for d in decls}
    assert by["a"].required and not by["b"].required and by["b"].sensitive
    assert by["n"].default == "3" and by["t"].default == "true"
    assert "`nope` is not a declared variable" in issues[0].message


def test_bake_declarations_and_types() -> None:
    decls, issues = declare_bake_variables(
        {
            "plain": "x",
            "count": {"type": "number", "default": 2},
            "flag": {"type": "bool", "default": False},
            "needed": {"description": "no default: required"},
            "pkgs": {"type": "list", "default": ["a"]},
            "bad": {"type": "number", "default": "many"},
            "typo": {"defualt": 1},
        },
        file="t.yml",
        positions=None,
    )
    by = {d.name: d for d in decls}
    assert by["needed"].required and not by["plain"].required
    messages = " | ".join(i.message for i in issues)
    assert "expected a number" in messages and "did you mean `default`?" in messages
    variables, issues, _ = resolve(
        [by["count"], by["flag"], by["pkgs"]],
        var_args=["count=5", "flag=true", 'pkgs=["x", "y"]'],
    )
    assert not issues
    assert [variables[n].value for n in ("count", "flag", "pkgs")] == [5, True, ["x", "y"]]
    _, issues, _ = resolve([by["count"]], var_args=["count=lots"])
    assert "expected a number" in issues[0].message
