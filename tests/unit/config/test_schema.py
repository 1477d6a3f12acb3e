"""The JSON Schema of bake.yml agrees with the loader on the fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bakeansible.config.schema import template_schema

jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture(scope="module")
def validator():  # noqa: ANN201
    schema = template_schema()
    json.dumps(schema)  # serialisable
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_valid_fixture_passes(validator, fixtures: Path) -> None:  # noqa: ANN001
    data = yaml.safe_load((fixtures / "bake-two-builds.yml").read_text())
    assert list(validator.iter_errors(data)) == []


@pytest.mark.parametrize(
    "name", ["bad-unknown-builder.yml", "bad-wrong-type.yml", "bad-missing-field.yml"]
)
def test_bad_fixtures_fail(validator, fixtures: Path, name: str) -> None:  # noqa: ANN001
    data = yaml.safe_load((fixtures / name).read_text())
    assert list(validator.iter_errors(data))


def test_field_docs_defaults_and_aliases() -> None:
    build = template_schema()["$defs"]["build"]
    local = next(
        b["then"] for b in build["allOf"] if b["if"]["properties"]["type"]["const"] == "local"
    )
    props = local["properties"]
    assert props["image_name"]["default"] == "bake-image"
    assert props["image_name"]["description"]
    assert props["source_image"]["description"] == "Same as `source`."
    assert local["additionalProperties"] is False
