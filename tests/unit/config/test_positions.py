"""Loading files with positions, and the guards against bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeansible.config.positions import MAX_DEPTH, load_document, parse_json, parse_yaml
from bakeansible.errors import ConfigError


def only_issue(exc: pytest.ExceptionInfo[ConfigError]):  # noqa: ANN201 - test helper
    assert len(exc.value.issues) == 1
    return exc.value.issues[0]


def test_json_positions() -> None:
    text = '{\n  "builders": [\n    {"type": "local",\n     "image_name": "x"}\n  ]\n}\n'
    data, pos = parse_json(text, "t.json")
    assert data["builders"][0]["image_name"] == "x"
    assert pos.value("builders[0].image_name") == (4, 20)
    assert pos.key("builders[0].image_name") == (4, 6)
    assert pos.value("builders[0]") == (3, 5)
    # Unknown paths fall back to the nearest ancestor.
    assert pos.value("builders[0].nope") == (3, 5)


def test_json_positions_with_escapes_and_numbers() -> None:
    text = '{"a": "x\\"}y", "b": [1, -2.5e3, true, null], "c": {}}'
    _, pos = parse_json(text, "t.json")
    assert pos.value("b[1]") == (1, 25)
    assert pos.value("c") == (1, 51)


def test_yaml_positions() -> None:
    text = "builds:\n  - type: local\n    image_name: x\n"
    data, pos = parse_yaml(text, "t.yml")
    assert data == {"builds": [{"type": "local", "image_name": "x"}]}
    assert pos.value("builds[0].image_name") == (3, 17)
    assert pos.key("builds[0].image_name") == (3, 5)


def test_malformed_json(fixtures: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_document(fixtures / "bad-malformed.json")
    issue = only_issue(exc)
    assert issue.file.endswith("bad-malformed.json")
    assert (issue.line, issue.column) == (5, 3)
    assert "malformed JSON" in issue.message


def test_malformed_yaml(fixtures: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_document(fixtures / "bad-malformed.yml")
    issue = only_issue(exc)
    assert issue.line is not None and issue.column is not None
    assert "malformed YAML" in issue.message


@pytest.mark.parametrize("name", ["empty.yml", "blank.json"])
def test_empty(fixtures: Path, name: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_document(fixtures / name)
    assert "empty" in only_issue(exc).message


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_document(tmp_path)
    assert "is a directory" in only_issue(exc).message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_document(tmp_path / "nope.yml")
    assert "not found" in only_issue(exc).message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.yml"
    path.write_bytes(b"builds: \xff\xfe\n")
    with pytest.raises(ConfigError) as exc:
        load_document(path)
    assert "not UTF-8" in only_issue(exc).message


def test_fifty_megabytes_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("w") as f:
        f.write('{"variables": {"x": "')
        f.write("a" * (50 * 1024 * 1024))
        f.write('"}}')
    with pytest.raises(ConfigError) as exc:
        load_document(path)
    message = only_issue(exc).message
    assert "50.0 MB" in message and "refuses" in message


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("deep.json", "[" * 5000 + "]" * 5000, 1),
        ("deep.yml", "a:\n" + "".join("  " * i + "- \n" for i in range(1, 200)), None),
        ("deepflow.yml", "x: " + "[" * 100000 + "]" * 100000, 1),
        ("deepmap.json", '{"a":' * 3000 + "1" + "}" * 3000, 1),
    ],
)
def test_deep_nesting(tmp_path: Path, name: str, text: str, line: int | None) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_document(path)
    issue = only_issue(exc)
    assert f"deeper than {MAX_DEPTH}" in issue.message or "malformed" in issue.message
    if line is not None:
        assert issue.line == line


def test_nesting_within_limit_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text("[" * 60 + "]" * 60)
    assert isinstance(load_document(path).data, list)


def test_yaml_anchors_and_aliases(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_text("base: &b {type: local}\nbuilds:\n  - *b\n")
    doc = load_document(path)
    assert doc.data["builds"] == [{"type": "local"}]
