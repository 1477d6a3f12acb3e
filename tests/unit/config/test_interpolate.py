"""Every template function, Go time layouts, pipes, and the strict/lax modes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bakeansible.config.gotime import go_format
from bakeansible.config.interpolate import (
    Context,
    InterpolationError,
    clean_resource_name,
    render,
    render_tree,
)
from bakeansible.config.positions import Positions

from .conftest import NOW


def ctx(**kw: object) -> Context:
    base = {"variables": {"x": "Hello World", "n": "3"}, "now": NOW, "env": {"HOME": "/home/u"}}
    base.update(kw)
    return Context(template_dir="/tpl", **base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{user `x`}}", "Hello World"),
        ("{{ user `x` }}!", "Hello World!"),
        ('{{user "x"}}', "Hello World"),
        ("{{timestamp}}", str(int(NOW.timestamp()))),
        ("{{isotime}}", "2024-03-05T14:07:09Z"),
        ("{{isotime `2006-01-02`}}", "2024-03-05"),
        ("{{upper `abc`}}", "ABC"),
        ("{{lower `ABC`}}", "abc"),
        ("{{split `a-b-c` `-` 1}}", "b"),
        ("{{replace `a` `o` 1 `banana`}}", "bonana"),
        ("{{replace `a` `o` -1 `banana`}}", "bonono"),
        ("{{replace_all `a` `o` `banana`}}", "bonono"),
        ("{{template_dir}}", "/tpl"),
        ("{{clean_resource_name `a b:c/d`}}", "a-b-c-d"),
        ("{{isotime | clean_resource_name}}", "2024-03-05T14-07-09Z"),
        ("{{user `x` | upper}}", "HELLO WORLD"),
        ("{{user `x` | lower | clean_resource_name}}", "hello-world"),
        ('{{ "a-b" | replace `-` `_` 1 }}', "a_b"),
        ("{{strftime `%Y`}}", "2024"),
        ("no templates", "no templates"),
        ("{{.Path}} and {{ .Vars }}", "{{.Path}} and {{ .Vars }}"),
    ],
)
def test_functions(text: str, expected: str) -> None:
    assert render(text, ctx()) == expected


def test_uuid_is_a_uuid() -> None:
    value = render("{{uuid}}", ctx())
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value)


def test_pwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert render("{{pwd}}", ctx()) == str(tmp_path)


def test_timestamp_is_fixed_once_per_run() -> None:
    c = Context(variables={})
    assert render("{{timestamp}}", c) == render("{{timestamp}}", c)
    assert render("{{isotime}}", c) == render("{{isotime}}", c)


def test_build_name_and_type() -> None:
    c = ctx().for_build("web", "local")
    assert render("{{build_name}}/{{build_type}}", c) == "web/local"
    # Outside a build they are kept for later.
    assert render("{{build_name}}", ctx()) == "{{build_name}}"


def test_env_only_where_allowed() -> None:
    with pytest.raises(InterpolationError, match="only allowed in variable defaults"):
        render("{{env `HOME`}}", ctx())
    assert render("{{env `HOME`}}", ctx().with_env()) == "/home/u"
    assert render("{{env `NOPE`}}", ctx().with_env()) == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ nowtime }}", "unknown template function `nowtime`"),
        ("{{ isotim }}", "did you mean `isotime`?"),
        ("{{user `nope`}}", "undefined variable `nope`"),
        ("{{split `a` `-` 3}}", "part 3 is unavailable"),
        ("{{split `a` `-`}}", "`split` takes 3 argument(s), got 2"),
        ("{{replace `a` `b` `x` `s`}}", "must be an integer"),
        ("{{ sed `s/a/b/` `x` }}", "deprecated"),
        ("{{ build `ID` }}", "not supported"),
        ("{{ foo.bar }}", "cannot parse"),
    ],
)
def test_strict_errors(text: str, message: str) -> None:
    with pytest.raises(InterpolationError) as info:
        render(text, ctx())
    assert message in str(info.value)


@pytest.mark.parametrize(
    "jinja",
    [
        "{{ ansible_facts.os_family | lower }}",
        "{{ item }}",
        "{{ user }}",
        "{{ lower }}",
        "{{ hostvars[inventory_hostname] }}",
        "{% if x %}y{% endif %}",
    ],
)
def test_lax_mode_leaves_jinja_alone(jinja: str) -> None:
    assert render(jinja, ctx(strict=False)) == jinja


def test_lax_mode_still_evaluates_packer_calls() -> None:
    c = ctx(strict=False)
    assert render("{{ user `x` }} {{ item }}", c) == "Hello World {{ item }}"
    with pytest.raises(InterpolationError, match="unknown template function `isotim`"):
        render("{{ isotim `2006` }}", c)


def test_render_tree_reports_position_and_path() -> None:
    positions = Positions(values={"builds[0].image_name": (4, 21)})
    data = {"image_name": "{{ nope }}", "keep": ["{{user `x`}}", 3]}
    out, issues = render_tree(data, ctx(), file="t.json", path="builds[0]", positions=positions)
    assert out["keep"] == ["Hello World", 3]
    assert len(issues) == 1
    issue = issues[0]
    assert (issue.file, issue.path, issue.line, issue.column) == (
        "t.json",
        "builds[0].image_name",
        4,
        21,
    )
    assert "`nope`" in issue.message


def test_whole_string_variable_keeps_its_type() -> None:
    c = ctx(variables={"pkgs": ["a", "b"]})
    out, issues = render_tree({"p": "{{user `pkgs`}}"}, c, file="f", path="", positions=None)
    assert out == {"p": ["a", "b"]} and not issues


def test_clean_resource_name() -> None:
    assert clean_resource_name("My Image: v1.2_3") == "My-Image--v1.2_3"


# --- Go layouts ---------------------------------------------------------------------------------

T = datetime(2009, 11, 10, 23, 4, 5, 120000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("2006-01-02T15:04:05Z07:00", "2009-11-10T23:04:05Z"),
        ("2006-01-02 15:04:05", "2009-11-10 23:04:05"),
        ("20060102150405", "20091110230405"),
        ("Jan 2, 2006", "Nov 10, 2009"),
        ("January 02 06", "November 10 09"),
        ("Mon Monday", "Tue Tuesday"),
        ("3:04PM", "11:04PM"),
        ("03:04:05 pm", "11:04:05 pm"),
        ("15h4m5s", "23h4m5s"),
        ("1/2/2006", "11/10/2009"),
        ("_2|__2|002", "10|314|314"),
        ("MST -0700 -07:00 -07 Z0700 Z07:00", "UTC +0000 +00:00 +00 Z Z"),
        ("-070000 -07:00:00", "+000000 +00:00:00"),
        ("05.000", "05.120"),
        ("05,000000", "05,120000"),
        ("05.999", "05.12"),
        ("05.999999999", "05.12"),
        ("_2006", "_2009"),
        ("Janet", "Janet"),
        ("literal text", "literal text"),
    ],
)
def test_go_layouts(layout: str, expected: str) -> None:
    assert go_format(T, layout) == expected


def test_go_layouts_with_offset() -> None:
    tz = timezone(timedelta(hours=-7, minutes=-30), "XST")
    t = T.astimezone(tz)
    assert go_format(t, "-0700 -07:00 Z07:00 MST") == "-0730 -07:30 -07:30 XST"


def test_go_fraction_all_zero_trims_the_dot() -> None:
    assert go_format(T.replace(microsecond=0), "05.999") == "05"
