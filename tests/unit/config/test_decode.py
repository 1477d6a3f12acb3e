"""The generic decoder: types, weak conversions, required fields, aliases, unknown keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bakeansible.config.decode import decode
from bakeansible.config.fields import opt
from bakeansible.config.positions import Positions, parse_yaml
from bakeansible.provisioners.config import AnsibleConfig


@dataclass(frozen=True)
class Inner:
    """A nested block."""

    key: str = opt(doc="Required key.")
    size: int = opt(0)


@dataclass(frozen=True)
class Sample:
    """A config exercising every supported type."""

    instance_type: str = opt(doc="Required.", aliases=("flavor",))
    count: int = opt(1)
    ratio: float = opt(1.5)
    enabled: bool = opt(False)
    tags: tuple[str, ...] = opt(factory=tuple)
    env: dict[str, str] = opt(factory=dict)
    extra: dict[str, Any] = opt(factory=dict)
    maybe: str | None = opt(None)
    mode: Literal["a", "b"] = opt("a")
    inner: Inner | None = opt(None)
    inners: tuple[Inner, ...] = opt(factory=tuple)


def run(data: Any, path: str = "builds[0]", positions: Positions | None = None):  # noqa: ANN201
    return decode(Sample, data, file="t.yml", path=path, positions=positions)


def test_happy_path_and_conversions() -> None:
    value, issues = run(
        {
            "flavor": "S2.SMALL1",
            "count": "3",
            "ratio": "2m",
            "enabled": "true",
            "tags": ["a", "b"],
            "env": {"A": 1},
            "extra": {"x": [1, {"y": 2}]},
            "mode": "b",
            "inner": {"key": "k", "size": 2.0},
            "inners": [{"key": "x"}],
        }
    )
    assert issues == []
    assert value == Sample(
        instance_type="S2.SMALL1",
        count=3,
        ratio=120.0,
        enabled=True,
        tags=("a", "b"),
        env={"A": "1"},
        extra={"x": [1, {"y": 2}]},
        mode="b",
        inner=Inner("k", 2),
        inners=(Inner("x"),),
    )


def test_unknown_key_suggests_nearest_with_position() -> None:
    text = "builds:\n  - instnace_type: x\n    count: 2\n"
    data, positions = parse_yaml(text, "t.yml")
    value, issues = run(data["builds"][0], positions=positions)
    assert value is None
    assert len(issues) == 2  # the typo, and therefore the missing required field
    unknown = next(i for i in issues if "unknown key" in i.message)
    assert unknown.path == "builds[0].instnace_type"
    assert (unknown.line, unknown.column) == (2, 5)
    assert "did you mean `instance_type`?" in unknown.message


def test_missing_required_names_the_field_and_type() -> None:
    _, issues = run({"count": 1})
    assert [i.message for i in issues] == ["missing required key `instance_type` (a string)"]
    assert issues[0].path == "builds[0]"


def test_wrong_types_are_all_reported_with_expected() -> None:
    _, issues = run(
        {
            "instance_type": ["x"],
            "count": "many",
            "ratio": "soon",
            "enabled": "maybe",
            "tags": "a,b",
            "mode": "c",
            "inner": {"size": 1},
            "inners": [{"key": "ok"}, 5],
        }
    )
    by_path = {i.path: i.message for i in issues}
    assert by_path["builds[0].instance_type"] == "expected a string, got a list"
    assert by_path["builds[0].count"] == "expected an integer, got string 'many'"
    assert "duration" in by_path["builds[0].ratio"]
    assert by_path["builds[0].enabled"] == "expected true or false, got string 'maybe'"
    assert by_path["builds[0].tags"] == "expected a list of strings, got string 'a,b'"
    assert by_path["builds[0].mode"] == "expected one of `a`, `b`, got string 'c'"
    assert by_path["builds[0].inner"] == "missing required key `key` (a string)"
    assert by_path["builds[0].inners[1]"] == "expected a mapping, got number 5"


def test_alias_and_name_together_is_an_error() -> None:
    _, issues = run({"instance_type": "a", "flavor": "b"})
    assert "same option" in issues[0].message


def test_bool_is_not_an_int_and_none_only_where_allowed() -> None:
    _, issues = run({"instance_type": "x", "count": True, "maybe": None, "tags": None})
    paths = sorted(i.path for i in issues)
    assert paths == ["builds[0].count", "builds[0].tags"]


def test_not_a_mapping() -> None:
    value, issues = run(["x"])
    assert value is None and "expected a mapping, got a list" in issues[0].message


def test_real_config_alias() -> None:
    value, issues = decode(AnsibleConfig, {"playbook": "site.yml"}, file="f")
    assert not issues and value.playbook_file == "site.yml"
