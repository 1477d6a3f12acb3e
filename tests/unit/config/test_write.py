"""``fmt``'s canonical layout and ``convert``'s Packer JSON → bake.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bakeansible.config.load import load_template
from bakeansible.config.positions import load_document
from bakeansible.config.write import (
    convert_text,
    first_comment_line,
    format_yaml,
    unified_diff,
)
from bakeansible.errors import BakeError

from .conftest import NOW

MESSY = """\
post_processors:
- type: manifest
provisioners:
- inline: [echo hi, "multi\\nline"]
  only: [web]
  type: shell
builds:
- image_name: "x-{{user `v`}}"
  type: local
  name: web
variables:
  v: {description: d, default: "1"}
"""

CANONICAL = """\
variables:
  v:
    default: '1'
    description: d
builds:
  - name: web
    type: local
    image_name: x-{{user `v`}}
provisioners:
  - type: shell
    only:
      - web
    inline:
      - echo hi
      - |-
        multi
        line
post_processors:
  - type: manifest
"""


def test_canonical_layout_and_idempotence() -> None:
    out = format_yaml(MESSY, yaml.safe_load(MESSY))
    assert out == CANONICAL
    assert format_yaml(out, yaml.safe_load(out)) == out
    assert yaml.safe_load(out) == yaml.safe_load(MESSY)


def test_leading_comments_kept_other_comments_refused() -> None:
    text = "# header\n\nbuilds: [{type: local}]\n"
    assert format_yaml(text, yaml.safe_load(text)).startswith("# header\n\nbuilds:\n")
    text = "builds:\n  - type: local  # inline comment\n"
    with pytest.raises(BakeError, match=":2: bake fmt cannot keep YAML comments"):
        format_yaml(text, yaml.safe_load(text))


def test_comment_detection_ignores_hashes_in_strings() -> None:
    text = "a: 'x # y'\nb: \"#\"\nc: x#y\nd: |\n  # not a comment\n"
    assert first_comment_line(text) is None
    assert first_comment_line("a: 1\n# c\n") == 2


def test_diff() -> None:
    diff = unified_diff("a: 1\n", "a: 2\n", "bake.yml")
    assert "--- a/bake.yml" in diff and "-a: 1" in diff and "+a: 2" in diff


@pytest.mark.parametrize("name", ["packer-seed-cvm.json", "packer-functions.json"])
def test_convert_is_equivalent(fixtures: Path, tmp_path: Path, name: str) -> None:
    # Same directory for both, so {{template_dir}} agrees.
    source = tmp_path / name
    source.write_text((fixtures / name).read_text())
    doc = load_document(source)
    text = convert_text(doc.data, source)
    assert text.startswith(f"# Converted from {name}")
    converted = tmp_path / "bake.yml"
    converted.write_text(text)
    kw = {
        "env": {"BAKE_TEST_HOME": "/h", "TENCENTCLOUD_ACCESS_KEY": "ak"},
        "var_args": ["required_one=1"] if "functions" in name else [],
        "now": NOW,
    }
    original = load_template(source, **kw)
    again = load_template(converted, **kw)
    strip = lambda b: (b.name, b.type, b.config, [(p.type, p.config) for p in b.provisioners])  # noqa: E731
    assert [strip(b) for b in again.builds] == [strip(b) for b in original.builds]
    assert {n: (v.value, v.sensitive) for n, v in again.variables.items()} == {
        n: (v.value, v.sensitive) for n, v in original.variables.items()
    }
    # The converted file is already canonical (its header comments are kept).
    assert format_yaml(text, yaml.safe_load(text)) == text


def test_convert_notes(fixtures: Path) -> None:
    doc = load_document(fixtures / "packer-functions.json")
    text = convert_text(doc.data, "packer-functions.json")
    assert "# Note: min_packer_version '1.7.0' dropped." in text
    assert "# Note: a post-processor chain was flattened" in text
    data = yaml.safe_load(text)
    assert data["variables"]["password"] == {"default": "hunter22", "sensitive": True}
    assert data["variables"]["required_one"] == {"required": True}
