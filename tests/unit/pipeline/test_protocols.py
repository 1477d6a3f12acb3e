"""Every built-in plugin implements the protocol the engine calls, with the same signatures."""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bakeansible.pipeline.protocols import Builder, PostProcessor, Provisioner
from bakeansible.registry import BUILTINS, GROUPS, Kind, load_ref

PROTOCOLS: dict[Kind, Any] = {
    "builder": Builder, "provisioner": Provisioner, "post-processor": PostProcessor
}


def _methods(protocol: Any) -> list[str]:
    return [
        name for name, value in vars(protocol).items()
        if inspect.isfunction(value) and (not name.startswith("_") or name == "__init__")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "type_name"), [(k, t) for k in PROTOCOLS for t in BUILTINS[k]]
)
def test_builtin_implements_its_protocol(kind: Kind, type_name: str) -> None:
    protocol = PROTOCOLS[kind]
    cls = load_ref(BUILTINS[kind][type_name].runtime)
    assert cls.type_name == type_name
    assert cls.config_class is load_ref(BUILTINS[kind][type_name].config)
    for name in _methods(protocol):
        want = list(inspect.signature(getattr(protocol, name)).parameters)
        params = inspect.signature(getattr(cls, name)).parameters
        # An implementation may take extra optional arguments (the Tencent builder's env).
        got = [p for p in params if params[p].default is inspect.Parameter.empty or p in want]
        assert got == want, f"{cls.__name__}.{name}{got} != {want}"


def test_pyproject_entry_points_are_the_builtins() -> None:
    """One list: pyproject declares each built-in as a third party would, BUILTINS mirrors it."""
    doc = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    declared = doc["project"]["entry-points"]
    # molecule.driver: the plugin bake provides to molecule (molecule-bake), not one of bake's.
    assert set(declared) == set(GROUPS.values()) | {"molecule.driver"}
    for kind, group in GROUPS.items():
        assert declared[group] == {name: ref.runtime for name, ref in BUILTINS[kind].items()}
