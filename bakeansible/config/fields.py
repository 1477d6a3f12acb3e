"""Field metadata shared by every config dataclass: docs, Packer aliases, secrecy.

One place per field: the dataclass field carries its default, its type, its documentation and the
other names it accepts; the decoder and the JSON Schema are both derived from it.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, field
from typing import Any


def opt(
    default: Any = MISSING,
    *,
    doc: str = "",
    aliases: tuple[str, ...] = (),
    secret: bool = False,
    factory: Any = MISSING,
) -> Any:
    """A config field. Leave out ``default`` and ``factory`` to make it required."""
    metadata = {"doc": doc, "aliases": aliases, "secret": secret}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    if default is MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


def field_doc(f: Field[Any]) -> str:
    return str(f.metadata.get("doc", ""))


def field_aliases(f: Field[Any]) -> tuple[str, ...]:
    return tuple(f.metadata.get("aliases", ()))


def field_secret(f: Field[Any]) -> bool:
    return bool(f.metadata.get("secret", False))
